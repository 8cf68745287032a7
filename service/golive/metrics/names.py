"""Metric names: a public contract (README "Metrics"); add, never rename."""

EVENTS_TOTAL = "golive_events"  # prometheus_client appends _total to counters
EVENT_LAG_SECONDS = "golive_event_lag_seconds"
BATCH_DURATION_SECONDS = "golive_batch_duration_seconds"
BATCH_SIZE_EVENTS = "golive_batch_size_events"
CONSUMER_LAG_MESSAGES = "golive_consumer_lag_messages"
DEAD_LETTERS_TOTAL = "golive_dead_letters"
INGEST_ERRORS_TOTAL = "golive_ingest_errors"
OFFSET_RESETS_TOTAL = "golive_offset_resets"
BATCH_REFOLDS_TOTAL = "golive_batch_refolds"
READY = "golive_ready"
LEADER = "golive_leader"
API_EVENT_REQUESTS_TOTAL = "golive_api_event_requests"  # POST /api/v1/events, by status
API_EVENTS_TOTAL = "golive_api_events"  # events those requests carried, by status
