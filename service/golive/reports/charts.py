"""The HTML report's charts: inline SVG markup computed from report values. Pure, and
standard library only.

A chart is a string to put in a page as is: an `<svg>` that its `viewBox` scales to the
width of its container (so it shrinks on a phone), with a `<title>`, `role="img"` and an
`aria-label` saying what it shows; or, with nothing to draw, a short paragraph saying so.
Every string from the data is escaped: producers choose release, rollout and service names.
Series differ in lightness and outline, not only in hue, so a chart prints in black and
white.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

from golive.reports import text
from golive.reports.model import BurnUp, RolloutCost

# viewBox units: about CSS pixels at a phone's width. Wider screens scale a chart up to
# the page's maximum, text with it; narrower ones scale text below the 12 units of SMALL.
WIDTH = 360
FONT = 13
SMALL = 12
INK = "#222"
MUTED = "#666"
GRID = "#ddd"
DARK = "#1f4e79"  # done, deployments, downtime: stays dark in black and white
LIGHT = "#bdd7ee"  # degraded: light, with a dark outline
FONTS = "DejaVu Sans, Verdana, system-ui, sans-serif"

# Wide enough for DejaVu Sans, the widest common sans: an estimate errs towards space.
_CHAR = 0.64
_WEEKDAYS_UP_TO = 7  # days on an axis that still leave room to name each day's weekday
_DURATION_STEPS = (
    *(1, 2, 5, 10, 15, 30),  # seconds
    *(60, 120, 300, 600, 900, 1800),  # minutes
    *(3600, 7200, 10800, 21600, 43200),  # hours
    *(86400, 172800, 604800),  # days
)


def burn_up(b: BurnUp, days: Sequence[date] = ()) -> str:
    """Tasks of release `b.release` done by the end of each day, against its scope. The
    x axis spans `days` too (the period's days), so that days still to come show as such."""
    if not b.done_by_day:
        return _no_data("burn-up", f"No burn-up data for release {b.release}.")
    axis = sorted(set(days) | {d for d, _ in b.done_by_day})
    last_day, last_done = b.done_by_day[-1]
    label = (
        f"Burn-up of release {b.release}: {last_done} of {b.scope} tasks done "
        f"by the end of {last_day.isoformat()}"
    )
    ticks = _steps(max(b.scope, *(n for _, n in b.done_by_day)), 5, _count_step)
    frame = _Frame.of(220, [str(t) for t in ticks], top=30, days=len(axis))
    out = frame.y_axis(ticks, [str(t) for t in ticks], "tasks")
    out += frame.day_axis(axis)
    scope_y = frame.y(b.scope, ticks[-1])
    out.append(
        f'<line class="scope" x1="{_n(frame.left)}" x2="{_n(frame.right)}" '
        f'y1="{_n(scope_y)}" y2="{_n(scope_y)}" stroke="{MUTED}" stroke-width="1.5" '
        'stroke-dasharray="6 4"/>'
    )
    index = {d: i for i, d in enumerate(axis)}
    points = [
        (frame.x_center(index[d], len(axis)), frame.y(n, ticks[-1])) for d, n in b.done_by_day
    ]
    out.append(
        f'<polyline class="done" fill="none" stroke="{DARK}" stroke-width="2.5" '
        f'stroke-linejoin="round" points="{" ".join(f"{_n(x)},{_n(y)}" for x, y in points)}"/>'
    )
    radius = 3 if len(points) <= 16 else 2
    out += [
        f'<circle cx="{_n(x)}" cy="{_n(y)}" r="{radius}" fill="{DARK}">'
        f"<title>{_e(d.isoformat())}: {n} done</title></circle>"
        for (x, y), (d, n) in zip(points, b.done_by_day, strict=True)
    ]
    out += _legend(
        [
            (f"done ({last_done})", _line_key(DARK, 2.5)),
            (f"scope ({b.scope})", _line_key(MUTED, 1.5, dashed=True)),
        ]
    )
    return _svg("burn-up", frame.height, label, out)


def deployments_per_day(days: Sequence[tuple[date, int]]) -> str:
    """Deployments of each day of the period, one bar a day."""
    if not days:
        return _no_data("deployments", "No deployment data for the period.")
    total = sum(n for _, n in days)
    label = (
        f"Deployments per day, {days[0][0].isoformat()} to {days[-1][0].isoformat()}: "
        f"{total} in all, at most {max(n for _, n in days)} a day"
    )
    ticks = _steps(max(n for _, n in days), 5, _count_step)
    frame = _Frame.of(200, [str(t) for t in ticks], top=24, days=len(days))
    out = frame.y_axis(ticks, [str(t) for t in ticks], "deployments")
    out += frame.day_axis([d for d, _ in days])
    slot = frame.width / len(days)
    bar = max(1.0, slot * 0.7)
    # Counts above the bars only if every one fits its slot with room to spare: some and
    # not others would mislead, and a count on every thin bar of a month is noise.
    show_values = all(_text_width(str(n), SMALL) + 8 <= slot for _, n in days)
    for i, (day, n) in enumerate(days):
        height = frame.bottom - frame.y(n, ticks[-1])
        x = frame.left + i * slot + (slot - bar) / 2
        out.append(
            f'<rect class="bar" data-value="{n}" x="{_n(x)}" y="{_n(frame.bottom - height)}" '
            f'width="{_n(bar)}" height="{_n(height)}" fill="{DARK}">'
            f"<title>{_e(day.isoformat())}: {n} deployment{'' if n == 1 else 's'}</title></rect>"
        )
        if show_values and n:
            out.append(
                f'<text x="{_n(x + bar / 2)}" y="{_n(frame.bottom - height - 3)}" '
                f'font-size="{SMALL}" text-anchor="middle">{n}</text>'
            )
    if total == 0:
        out.append(frame.note("no deployment in the period"))
    return _svg("deployments", frame.height, label, out)


def downtime_per_rollout(rollouts: Sequence[RolloutCost]) -> str:
    """Downtime and degraded time of each rollout: a pair of horizontal bars under the
    rollout's name, one row a rollout (rows never crowd, the chart grows instead)."""
    if not rollouts:
        return _no_data("downtime", "No rollout with downtime or degraded time.")
    longest = max(max(c.downtime_s, c.degraded_s) for c in rollouts)
    label = (
        f"Downtime and degraded time of {len(rollouts)} "
        f"rollout{'' if len(rollouts) == 1 else 's'}: "
        f"{text.duration(sum(c.downtime_s for c in rollouts))} of downtime and "
        f"{text.duration(sum(c.degraded_s for c in rollouts))} of degraded time in all"
    )
    ticks = _steps(longest, 4, _duration_step)
    names = [text.duration(t) for t in ticks]
    left, right = 8.0, WIDTH - 8 - _text_width("00 h 00 min", SMALL - 2)
    # Long charts repeat the scale on top, where the first rows are read.
    scale_on_top = len(rollouts) > 8
    row, top = 46, 46 if scale_on_top else 30
    bottom = top + row * len(rollouts)
    height = bottom + 24

    def x(seconds: float) -> float:
        return left + seconds / ticks[-1] * (right - left)

    out = _legend([("downtime", _box_key(DARK)), ("degraded", _box_key(LIGHT))])
    for t, tick in zip(ticks, names, strict=True):
        out.append(
            f'<line x1="{_n(x(t))}" x2="{_n(x(t))}" y1="{top - 6}" y2="{bottom}" stroke="{GRID}"/>'
        )
        anchor = "start" if t == 0 else "middle"
        ys = (bottom + 18, top - 10) if scale_on_top else (bottom + 18,)
        out += [
            f'<text x="{_n(x(t))}" y="{y}" font-size="{SMALL}" text-anchor="{anchor}" '
            f'fill="{MUTED}">{_e(tick)}</text>'
            for y in ys
        ]
    max_chars = int((WIDTH - 2 * left) / (_CHAR * SMALL))
    same_place = len({c.environment for c in rollouts}) == 1  # names then leave it out
    for i, c in enumerate(rollouts):
        y0 = top + i * row
        full = f"{c.rollout} · {c.service} {c.environment}"
        name = f"{c.rollout} · {c.service}" if same_place else full
        shown = name if len(name) <= max_chars else name[: max_chars - 1] + "…"
        out.append(f'<g class="rollout"><title>{_e(full)}</title>')
        out.append(f'<text x="{_n(left)}" y="{y0 + 12}" font-size="{SMALL}">{_e(shown)}</text>')
        for series, seconds, fill, offset in (
            ("downtime", c.downtime_s, DARK, 17),
            ("degraded", c.degraded_s, LIGHT, 29),
        ):
            width = x(seconds) - left
            out.append(
                f'<rect class="{series}" data-value="{seconds:g}" x="{_n(left)}" '
                f'y="{y0 + offset}" width="{_n(width)}" height="10" fill="{fill}" '
                f'stroke="{DARK}" stroke-width="{1 if width else 0}"/>'
            )
            out.append(
                f'<text x="{_n(left + width + 4)}" y="{y0 + offset + 9}" font-size="{SMALL - 2}" '
                f'fill="{MUTED}">{_e(text.duration(seconds))}</text>'
            )
        out.append("</g>")
    return _svg("downtime", height, label, out)


@dataclass(frozen=True, slots=True)
class _Frame:
    """The plot area of a chart with a value axis on the left and days along the bottom."""

    left: float
    top: float
    right: float
    bottom: float
    height: int

    @classmethod
    def of(cls, height: int, tick_labels: Sequence[str], top: float, days: int) -> _Frame:
        """A frame `height` high, taller by a line for the weekdays of a week or less."""
        height += 14 if days <= _WEEKDAYS_UP_TO else 0
        left = 10 + max(_text_width(t, SMALL) for t in tick_labels)
        return cls(left, top, WIDTH - 10, height - (54 if days <= _WEEKDAYS_UP_TO else 40), height)

    @property
    def width(self) -> float:
        return self.right - self.left

    def y(self, value: float, top_value: float) -> float:
        return self.bottom - value / top_value * (self.bottom - self.top)

    def x_center(self, index: int, count: int) -> float:
        return self.left + (index + 0.5) * self.width / count

    def y_axis(self, ticks: Sequence[float], labels: Sequence[str], title: str) -> list[str]:
        out = [
            f'<text x="{_n(self.left)}" y="{_n(self.top - 10)}" font-size="{SMALL}" '
            f'fill="{MUTED}">{_e(title)}</text>'
        ]
        for t, name in zip(ticks, labels, strict=True):
            y = _n(self.y(t, ticks[-1]))
            out.append(
                f'<line x1="{_n(self.left)}" x2="{_n(self.right)}" y1="{y}" y2="{y}" '
                f'stroke="{INK if t == 0 else GRID}"/>'
            )
            out.append(
                f'<text x="{_n(self.left - 5)}" y="{y}" dy="0.35em" font-size="{SMALL}" '
                f'text-anchor="end">{_e(name)}</text>'
            )
        return out

    def day_axis(self, days: Sequence[date]) -> list[str]:
        """A tick a day, and as many day numbers as fit without touching each other; for a
        week or less, every day's weekday under its number."""
        slot = self.width / len(days)
        weekdays = len(days) <= _WEEKDAYS_UP_TO
        every = math.ceil((_text_width(str(max(d.day for d in days)), SMALL) + 10) / slot)
        out = []
        for i, day in enumerate(days):
            x = _n(self.x_center(i, len(days)))
            out.append(
                f'<line x1="{x}" x2="{x}" y1="{_n(self.bottom)}" y2="{_n(self.bottom + 4)}" '
                f'stroke="{INK}"/>'
            )
            if i % every == 0:
                out.append(
                    f'<text class="tick" x="{x}" y="{_n(self.bottom + 16)}" font-size="{SMALL}" '
                    f'text-anchor="middle">{day.day}</text>'
                )
            if weekdays:
                out.append(
                    f'<text class="weekday" x="{x}" y="{_n(self.bottom + 30)}" '
                    f'font-size="{SMALL}" text-anchor="middle">{day:%a}</text>'
                )
        first, last = days[0], days[-1]
        months = (
            f"{first:%B %Y}"
            if (first.year, first.month) == (last.year, last.month)
            else f"{first:%b %Y} to {last:%b %Y}"
        )
        out.append(
            f'<text x="{_n(self.left + self.width / 2)}" y="{_n(self.height - 8)}" '
            f'font-size="{SMALL}" text-anchor="middle" fill="{MUTED}">day, {_e(months)}</text>'
        )
        return out

    def note(self, message: str) -> str:
        return (
            f'<text x="{_n(self.left + self.width / 2)}" y="{_n((self.top + self.bottom) / 2)}" '
            f'text-anchor="middle" fill="{MUTED}">{_e(message)}</text>'
        )


def _svg(kind: str, height: float, label: str, body: list[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart chart-{kind}" '
        f'viewBox="0 0 {WIDTH} {_n(height)}" width="100%" role="img" aria-label="{_e(label)}" '
        f'font-family="{FONTS}" font-size="{FONT}" fill="{INK}">'
        f"<title>{_e(label)}</title>{''.join(body)}</svg>"
    )


def _no_data(kind: str, message: str) -> str:
    return f'<p class="chart chart-{kind} no-data">{_e(message)}</p>'


def _legend(entries: Sequence[tuple[str, str]]) -> list[str]:
    """Keys and names from the top right corner leftwards; a key is drawn in a 14 x 10 box
    whose top left corner is (0, 0)."""
    out, x = [], WIDTH - 10.0
    for name, key in reversed(entries):
        x -= _text_width(name, SMALL)
        out.append(f'<text x="{_n(x)}" y="13" font-size="{SMALL}">{_e(name)}</text>')
        x -= 18
        out.append(f'<g transform="translate({_n(x)} 4)">{key}</g>')
        x -= 14
    return out


def _line_key(colour: str, width: float, dashed: bool = False) -> str:
    dash = ' stroke-dasharray="4 3"' if dashed else ""
    return f'<line x1="0" x2="14" y1="5" y2="5" stroke="{colour}" stroke-width="{width}"{dash}/>'


def _box_key(colour: str) -> str:
    return f'<rect width="14" height="10" fill="{colour}" stroke="{DARK}"/>'


def _steps(largest: float, most: int, step_of: Callable[[float, int], float]) -> list[float]:
    """Ticks from 0 to at least `largest` (at least one step), at most `most` steps."""
    step = step_of(max(largest, 0.0), most)
    count = max(1, math.ceil(largest / step))
    return [i * step for i in range(count + 1)]


def _count_step(largest: float, most: int) -> float:
    """1, 2 or 5 times a power of ten, whole: counts have no half tasks."""
    raw = max(largest, 1.0) / most
    power = 10.0 ** math.floor(math.log10(raw))
    return max(1, round(next(m * power for m in (1, 2, 5, 10) if m * power >= raw)))


def _duration_step(largest: float, most: int) -> float:
    """A step a person counts in: 5 s, 15 min, 2 h, 1 d, then whole weeks."""
    for step in _DURATION_STEPS:
        if largest <= step * most:
            return step
    return 604800 * _count_step(largest / 604800, most)


def _text_width(value: str, size: float) -> float:
    return len(value) * _CHAR * size


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _n(value: float) -> str:
    """A coordinate, to a tenth."""
    rounded = f"{value:.1f}"
    return rounded[:-2] if rounded.endswith(".0") else rounded
