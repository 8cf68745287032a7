"""The leader's work: the KPI snapshot, golive's alerts, the state metrics and the
reports of closed periods.

`evaluator.Evaluator` (the leader's loop) and `publishing.Publisher` run in `golive run`'s
process; the snapshot and the reports are computed in a child process (`process`,
`worker`), so that their Python never holds the event loop that ingest shares
(docs/performance.md). Nothing is imported here: the child imports this package too,
and only what it uses.
"""
