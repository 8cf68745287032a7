-- Where the derivation of each (service, environment) stopped (domain.delivery.Walked):
-- a batch whose delivery signals all come after it goes on from there, instead of
-- walking the pair's whole history again (docs/architecture.md). Rebuilt by the next
-- batch that derives the pair in full when missing.
CREATE TABLE delivery_walks (
    service         text        NOT NULL,
    environment     text        NOT NULL,
    last_time       timestamptz,            -- the last signal walked: its time and event
    last_source     text,
    last_id         text,
    current_version text,
    open_started_at timestamptz,            -- the recovery open at that point, if any
    open_cause      text,
    open_incidents  text[]      NOT NULL DEFAULT '{}',
    PRIMARY KEY (service, environment)
);
