-- Reports read rollouts finished and tasks done in a period: index those times.
CREATE INDEX rollouts_finished ON rollouts (finished_at);
CREATE INDEX tasks_done ON tasks (done_at);
