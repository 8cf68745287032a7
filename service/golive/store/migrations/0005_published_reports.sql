-- The report of each closed period, published by the leader: stored as rendered then, so
-- what was sent is what the API serves later, and delivered to the webhook once.
CREATE TABLE published_reports (
    kind            text        NOT NULL,   -- daily, weekly, monthly
    label           text        NOT NULL,   -- 2026-11-23, 2026-W48, 2026-11
    timezone        text        NOT NULL,
    period_start    timestamptz NOT NULL,
    period_end      timestamptz NOT NULL,
    generated_at    timestamptz NOT NULL,
    document        jsonb       NOT NULL,   -- the golive.report/v1 JSON document
    markdown        text        NOT NULL,
    html            text        NOT NULL,
    -- Webhook delivery: due when a webhook was configured at publication.
    delivery_due    boolean     NOT NULL,
    delivered_at    timestamptz,
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz,            -- also a lease: set ahead before each attempt
    last_error      text,
    PRIMARY KEY (kind, label, timezone)
);
CREATE INDEX published_reports_start ON published_reports (period_start);
CREATE INDEX published_reports_pending ON published_reports (next_attempt_at)
    WHERE delivery_due AND delivered_at IS NULL;
