"""The leader's work: the KPI snapshot, golive's alerts, the state metrics and the
reports of closed periods.

`Evaluator` (the leader's loop) and `publishing.Publisher` run in `golive run`'s
process; the snapshot and the reports are computed in a child process (`process`,
`worker`), so that their Python never holds the event loop that ingest shares
(docs/performance.md).
"""

from golive.leader.evaluator import Evaluator

__all__ = ["Evaluator"]
