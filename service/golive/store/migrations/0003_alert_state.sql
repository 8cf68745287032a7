-- golive's own alerts: their lifecycle survives restarts and leader changes.
CREATE TABLE alerts (
    fingerprint     text PRIMARY KEY,
    alertname       text        NOT NULL,
    severity        text        NOT NULL,
    labels          jsonb       NOT NULL,
    annotations     jsonb       NOT NULL,
    path            text        NOT NULL,   -- golive API page of the entity (generatorURL)
    starts_at       timestamptz NOT NULL,
    resolved_at     timestamptz,
    last_sent_at    timestamptz,            -- last successful delivery to Alertmanager
    resolution_sent boolean     NOT NULL DEFAULT false,
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX alerts_open ON alerts (resolved_at);
