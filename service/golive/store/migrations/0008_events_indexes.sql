-- The events table is written by every batch and read only by `golive replay` (by seq),
-- duplicate detection (by source, id) and the operator's retention purge (by time). A
-- btree on (name, time) served no query, and one on time cost ingest as much for the
-- purge alone: a BRIN index serves that range scan (events arrive close to event-time
-- order) for almost nothing per insert. Measured: 3.1 µs less Postgres time an event
-- (docs/performance.md).
DROP INDEX IF EXISTS events_name_time;
DROP INDEX IF EXISTS events_time;
CREATE INDEX events_time ON events USING brin (time);
