-- The (service, environment) pairs whose delivery signals a batch changed, queued for
-- the leader to derive (store.derived.derive_pending) instead of being derived inside
-- the batch: ingest only records what changed (docs/architecture.md). Insert-only on
-- the ingest side, so a batch never waits on the deriver's row locks.
CREATE TABLE deliveries_pending (
    id          bigserial PRIMARY KEY,
    service     text    NOT NULL,
    environment text    NOT NULL,
    added       jsonb   NOT NULL DEFAULT '[]',   -- the signals the batch added (store.codec)
    removed     boolean NOT NULL DEFAULT false   -- a signal went or changed: derive whole
);
