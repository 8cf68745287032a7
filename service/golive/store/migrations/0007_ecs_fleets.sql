-- Amazon ECS services as golive follows them (domain.ecs): their deployments and the
-- state reports of their tasks, from which their rollouts are derived.
CREATE TABLE fleets (
    key        text PRIMARY KEY,               -- the service's long ARN
    doc        jsonb,
    cluster    text,
    service    text,
    updated_at timestamptz NOT NULL DEFAULT now()
);
