-- Team activity in 15-minute buckets: what reports need to count a team's events in
-- any period and to find its quiet stretches, without scanning `events`. Every batch
-- adds its events here, attributed as `domain.teams.activity_team` does: the producer's
-- team, else the catalog owner of the service, else the team of the task or the owner
-- of the rollout's service. 15 minutes: every time zone's midnight falls on a bucket
-- bound, so a day, week or month in any zone is a whole number of buckets.
CREATE TABLE team_activity (
    team     text        NOT NULL,
    bucket   timestamptz NOT NULL,   -- the bucket's start (UTC, a multiple of 15 minutes)
    events   bigint      NOT NULL,
    first_at timestamptz NOT NULL,   -- earliest event time in the bucket
    last_at  timestamptz NOT NULL,   -- latest event time in the bucket
    PRIMARY KEY (team, bucket)
);
CREATE INDEX team_activity_bucket ON team_activity (bucket);

-- Events stored before this table existed, with the producer's own attribution only:
-- `golive replay` rebuilds the table with the catalog and task attribution as well.
INSERT INTO team_activity (team, bucket, events, first_at, last_at)
SELECT team, date_bin('15 minutes', time, TIMESTAMPTZ '2000-01-01 00:00:00+00'),
       count(*), min(time), max(time)
FROM events WHERE team IS NOT NULL GROUP BY 1, 2;
