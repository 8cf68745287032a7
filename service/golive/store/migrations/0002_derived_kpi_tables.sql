-- Derived facts the leader aggregates with plain SQL. Maintained by every batch, in the
-- batch's transaction, with the domain's own derivation (store/derived.py).
CREATE TABLE deployments (
    service        text        NOT NULL,
    environment    text        NOT NULL,
    version        text        NOT NULL,
    deployed_at    timestamptz NOT NULL,
    artifact       text,
    failed_at      timestamptz,                 -- a change failure (incident, rollback)
    rework         boolean     NOT NULL,        -- made while a recovery was open
    completed      boolean     NOT NULL,        -- served traffic (not only a failed rollout)
    attempt_failed boolean     NOT NULL,        -- a rollout to it failed or rolled back
    PRIMARY KEY (service, environment, version)
);
CREATE INDEX deployments_time ON deployments (deployed_at);

CREATE TABLE recoveries (
    service     text        NOT NULL,
    environment text        NOT NULL,
    started_at  timestamptz NOT NULL,
    restored_at timestamptz,
    cause       text        NOT NULL,
    PRIMARY KEY (service, environment, started_at)
);
CREATE INDEX recoveries_restored ON recoveries (restored_at);

-- Which changes an artifact carries (artifact.packaged / published), for lead times.
CREATE TABLE artifact_changes (
    artifact text NOT NULL,
    change   text NOT NULL,
    PRIMARY KEY (artifact, change)
);
CREATE INDEX artifact_changes_change ON artifact_changes (change);

-- A finished rollout's cost, and what the delivery derivation needs without the doc.
ALTER TABLE rollouts
    ADD COLUMN from_version  text,
    ADD COLUMN to_version    text,
    ADD COLUMN duration_s    double precision,
    ADD COLUMN downtime_s    double precision,
    ADD COLUMN degraded_s    double precision,
    ADD COLUMN last_event_at timestamptz;
CREATE INDEX rollouts_in_progress ON rollouts (service) WHERE outcome IS NULL;

ALTER TABLE tasks ADD COLUMN last_event_at timestamptz;
