"""Liveness and readiness, as flags the components set and `/readyz` reads."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Health:
    database: bool = False
    broker: bool = False
    consuming: bool = False
    problems: dict[str, str] = field(default_factory=dict)

    @property
    def ready(self) -> bool:
        return self.database and self.broker and self.consuming

    def report(self, component: str, ok: bool, problem: str = "") -> None:
        setattr(self, component, ok)
        if ok:
            self.problems.pop(component, None)
        else:
            self.problems[component] = problem
