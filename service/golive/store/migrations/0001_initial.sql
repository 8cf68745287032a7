-- The append-only source of truth: one row per accepted event, as received.
CREATE TABLE events (
    seq         bigserial PRIMARY KEY,
    source      text        NOT NULL,
    id          text        NOT NULL,
    type        text        NOT NULL,
    name        text        NOT NULL,           -- subject.predicate, e.g. service.deployed
    time        timestamptz NOT NULL,           -- event time (context.timestamp)
    subject_id  text        NOT NULL,
    team        text,
    payload     bytea       NOT NULL,           -- the record value, byte for byte
    headers     jsonb       NOT NULL DEFAULT '[]',
    topic       text,
    partition   integer,
    "offset"    bigint,
    ingested_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (source, id)
);
CREATE INDEX events_time ON events (time);
CREATE INDEX events_name_time ON events (name, time);

-- Projections: each domain entity as a JSONB document (store/codec.py) plus the
-- columns queries filter on. Rebuilt from `events` by `golive replay`.
CREATE TABLE releases (
    key         text PRIMARY KEY,
    doc         jsonb,
    status      text,
    target_date timestamptz,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE tasks (
    key        text PRIMARY KEY,
    doc        jsonb,
    release    text,
    team       text,
    status     text,
    kind       text,
    due        timestamptz,
    done_at    timestamptz,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tasks_release ON tasks (release);
CREATE INDEX tasks_team ON tasks (team);
CREATE TABLE teams (
    key           text PRIMARY KEY,
    doc           jsonb,
    last_activity timestamptz,
    events        bigint,
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE rollouts (
    key         text PRIMARY KEY,
    doc         jsonb,
    service     text,
    environment text,
    started_at  timestamptz,
    finished_at timestamptz,
    outcome     text,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX rollouts_service ON rollouts (service, environment);
CREATE TABLE incidents (
    key         text PRIMARY KEY,
    doc         jsonb,
    service     text,
    environment text,
    detected_at timestamptz,
    resolved_at timestamptz,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE changes (
    key        text PRIMARY KEY,
    doc        jsonb,
    started_at timestamptz,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE artifacts (
    key        text PRIMARY KEY,
    doc        jsonb,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE timelines (
    key         text PRIMARY KEY,               -- service || E'\x1f' || environment
    doc         jsonb,
    service     text,
    environment text,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE event_counts (
    name  text PRIMARY KEY,
    count bigint NOT NULL
);

-- Where each partition's next record is, committed in the same transaction as the
-- state it produced: the consumer seeks here on assignment (exactly-once state).
CREATE TABLE consumer_offsets (
    group_id    text    NOT NULL,
    topic       text    NOT NULL,
    partition   integer NOT NULL,
    next_offset bigint  NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (group_id, topic, partition)
);
