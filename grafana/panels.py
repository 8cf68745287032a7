"""The building blocks of golive's dashboards: the datasource, queries, thresholds,
variables and one constructor per panel kind.

Every panel constructor takes a description, a unit and thresholds as required
arguments, so a panel cannot be built without them (the issue's rule, and what makes a
dashboard readable by someone who did not write it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, Self, TypeVar

from grafana_foundation_sdk.builders import bargauge, prometheus, stat, statetimeline, table
from grafana_foundation_sdk.builders import common as common_builders
from grafana_foundation_sdk.builders import dashboard as builders
from grafana_foundation_sdk.builders import timeseries as timeseries_builders
from grafana_foundation_sdk.cog.builder import Builder
from grafana_foundation_sdk.cog.variants import Dataquery
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models import dashboard as model
from grafana_foundation_sdk.models import prometheus as prometheus_model

# The provisioned datasource (grafana/provisioning/datasources/prometheus.yaml).
DATASOURCE = model.DataSourceRef(type_val="prometheus", uid="prometheus")

# Grafana's palette names, so the colours read the same on every panel.
GREEN, YELLOW, ORANGE, RED, BLUE = "green", "yellow", "orange", "red", "blue"

# Grafana unit ids (https://grafana.com/docs/grafana/latest/panels-visualizations/
# configure-standard-options/#unit).
SECONDS, DAYS, RATIO, COUNT = "s", "d", "percentunit", "short"
DATE, SINCE = "dateTimeAsIso", "dateTimeFromNow"  # both take milliseconds
PER_DAY, EVENTS_PER_S = "suffix:/day", "suffix: events/s"

Thresholds = Builder[model.ThresholdsConfig]
Panel = Builder[model.Panel]


@dataclass(frozen=True, slots=True)
class Query:
    """One PromQL query of a panel. `table` queries are instant and joined into rows."""

    expr: str
    legend: str = "__auto"
    column: str = ""  # the table column it fills, for table panels


def thresholds(base: str, *steps: tuple[float, str]) -> Thresholds:
    """`base` below the first step; each (value, colour) from its value up."""
    return (
        builders.ThresholdsConfig()
        .mode(model.ThresholdsMode.ABSOLUTE)
        .steps(
            [model.Threshold(value=None, color=base)]
            + [model.Threshold(value=value, color=color) for value, color in steps]
        )
    )


# A count where any is worth a look (failures, idle teams, alerts firing).
NONE_IS_GOOD = thresholds(GREEN, (1, RED))
# Overdue tasks: one is a warning, three a problem (Release overview and Teams alike).
OVERDUE_STEPS = thresholds(GREEN, (1, ORANGE), (3, RED))

# For values with no good or bad level of their own (a date, a throughput, tasks by
# status): one neutral colour, rather than made-up limits. Their descriptions say so.
NEUTRAL = thresholds(BLUE)


def flag(zero: str, one: str, *, good: int = 0) -> list[model.ValueMapping]:
    """Text for a 0/1 gauge: the `good` value in green, the other in red."""
    colors = (GREEN, RED) if good == 0 else (RED, GREEN)
    return [
        model.ValueMap(
            options={
                "0": model.ValueMappingResult(text=zero, color=colors[0], index=0),
                "1": model.ValueMappingResult(text=one, color=colors[1], index=1),
            }
        )
    ]


def _target(query: Query, ref: str, *, instant: bool) -> prometheus.Dataquery:
    target = (
        prometheus.Dataquery()
        .expr(query.expr)
        .legend_format(query.legend)
        .ref_id(ref)
        .datasource(DATASOURCE)
    )
    if instant:
        return target.instant().format(prometheus_model.PromQueryFormat.TABLE)
    return target.range()


def _refs(queries: Sequence[Query], *, instant: bool = False) -> list[Builder[Dataquery]]:
    return [_target(query, chr(ord("A") + i), instant=instant) for i, query in enumerate(queries)]


class _PanelBuilder(Protocol):
    """What every panel builder of the SDK has (each panel kind is its own class)."""

    def title(self, title: str, /) -> Self: ...
    def description(self, description: str, /) -> Self: ...
    def datasource(self, datasource: model.DataSourceRef, /) -> Self: ...
    def targets(self, targets: list[Builder[Dataquery]], /) -> Self: ...
    def unit(self, unit: str, /) -> Self: ...
    def thresholds(self, thresholds: Thresholds, /) -> Self: ...
    def span(self, w: int, /) -> Self: ...
    def height(self, h: int, /) -> Self: ...


P = TypeVar("P", bound=_PanelBuilder)


def _framed(
    panel: P,
    title: str,
    description: str,
    targets: list[Builder[Dataquery]],
    *,
    unit: str,
    steps: Thresholds,
    width: int,
    height: int,
) -> P:
    """What every panel gets, whatever its kind: the one place that applies the rule."""
    return (
        panel.title(title)
        .description(description)
        .datasource(DATASOURCE)
        .targets(targets)
        .unit(unit)
        .thresholds(steps)
        .span(width)
        .height(height)
    )


def stat_panel(
    title: str,
    description: str,
    *queries: Query,
    unit: str,
    steps: Thresholds,
    mappings: list[model.ValueMapping] | None = None,
    width: int = 4,
    height: int = 5,
) -> Panel:
    """The current value, coloured by the thresholds."""
    panel = (
        _framed(
            stat.Panel(),
            title,
            description,
            _refs(queries),
            unit=unit,
            steps=steps,
            width=width,
            height=height,
        )
        .color_mode(common.BigValueColorMode.BACKGROUND)
        .graph_mode(common.BigValueGraphMode.NONE)
        .reduce_options(common_builders.ReduceDataOptions().calcs(["lastNotNull"]).values(False))
    )
    return panel.mappings(mappings) if mappings else panel


def time_series(
    title: str,
    description: str,
    *queries: Query,
    unit: str,
    steps: Thresholds,
    stacked: bool = False,
    bars: bool = False,
    width: int = 12,
    height: int = 8,
) -> Panel:
    """Values over the dashboard's time range; thresholds drawn as dashed lines."""
    panel = (
        _framed(
            timeseries_builders.Panel(),
            title,
            description,
            _refs(queries),
            unit=unit,
            steps=steps,
            width=width,
            height=height,
        )
        .thresholds_style(
            common_builders.GraphThresholdsStyleConfig().mode(
                common.GraphThresholdsStyleMode.DASHED
            )
        )
        .fill_opacity(20 if stacked or bars else 10)
        .legend(
            common_builders.VizLegendOptions()
            .display_mode(common.LegendDisplayMode.TABLE)
            .placement(common.LegendPlacement.RIGHT)
            .show_legend(True)
            .calcs(["lastNotNull", "max"])
        )
    )
    if bars:
        panel = panel.draw_style(common.GraphDrawStyle.BARS)
    if stacked:
        panel = panel.stacking(common_builders.StackingConfig().mode(common.StackingMode.NORMAL))
    return panel


def bar_gauge(
    title: str,
    description: str,
    *queries: Query,
    unit: str,
    steps: Thresholds,
    maximum: float | None = None,
    width: int = 8,
    height: int = 8,
) -> Panel:
    """One bar per series (per team, per service), coloured by the thresholds."""
    panel = (
        _framed(
            bargauge.Panel(),
            title,
            description,
            _refs(queries),
            unit=unit,
            steps=steps,
            width=width,
            height=height,
        )
        .min(0)
        .orientation(common.VizOrientation.HORIZONTAL)
        .display_mode(common.BarGaugeDisplayMode.GRADIENT)
        .reduce_options(common_builders.ReduceDataOptions().calcs(["lastNotNull"]).values(False))
    )
    return panel.max(maximum) if maximum is not None else panel


@dataclass(frozen=True, slots=True)
class Column:
    """A table column filled by one instant query, with its own unit and thresholds."""

    query: Query
    unit: str
    steps: Thresholds
    mappings: tuple[model.ValueMapping, ...] = ()


def table_panel(
    title: str,
    description: str,
    *columns: Column,
    keys: Sequence[str],
    width: int = 24,
    height: int = 8,
) -> Panel:
    """One row per label set of `keys`, one coloured column per query.

    Each query is instant, formatted as a table, and the frames are joined on `keys`
    (Grafana's "merge"); the value columns `Value #A`, `Value #B`... get their names,
    units and thresholds by override.
    """
    refs = _refs([c.query for c in columns], instant=True)
    values = [f"Value #{chr(ord('A') + i)}" for i in range(len(columns))]
    order = [*keys, *values]
    panel = (
        _framed(
            table.Panel(),
            title,
            description,
            refs,
            unit=columns[0].unit,
            steps=columns[0].steps,
            width=width,
            height=height,
        )
        .with_transformation(model.DataTransformerConfig(id_val="merge", options={}))
        .with_transformation(
            model.DataTransformerConfig(
                id_val="organize",
                options={
                    "includeByName": dict.fromkeys(order, True),
                    "indexByName": {name: i for i, name in enumerate(order)},
                    "renameByName": {
                        value: column.query.column
                        for value, column in zip(values, columns, strict=True)
                    },
                },
            )
        )
    )
    for column in columns:
        properties = [
            model.DynamicConfigValue(id_val="unit", value=column.unit),
            model.DynamicConfigValue(id_val="thresholds", value=column.steps.build()),
            model.DynamicConfigValue(
                id_val="custom.cellOptions", value={"type": "color-background", "mode": "basic"}
            ),
        ]
        if column.mappings:
            properties.append(
                model.DynamicConfigValue(id_val="mappings", value=list(column.mappings))
            )
        panel = panel.override_by_name(column.query.column, properties)
    return panel


def state_timeline(
    title: str,
    description: str,
    *queries: Query,
    unit: str,
    steps: Thresholds,
    mappings: list[model.ValueMapping],
    width: int = 24,
    height: int = 8,
) -> Panel:
    """A 0/1 state per series over time (idle teams, firing alerts)."""
    return (
        _framed(
            statetimeline.Panel(),
            title,
            description,
            _refs(queries),
            unit=unit,
            steps=steps,
            width=width,
            height=height,
        )
        .mappings(mappings)
        .show_value(common.VisibilityMode.NEVER)
    )


def row(title: str) -> builders.Row:
    return builders.Row(title)


def label_variable(
    name: str, label: str, metric: str, description: str, *, multi: bool = False
) -> builders.QueryVariable:
    """A variable listing the values of `name` on `metric` (refreshed with the time range).

    Multi-valued variables include "All", which Grafana expands to a regex of every
    value, so queries match them with `=~`.
    """
    variable = (
        builders.QueryVariable(name)
        .label(label)
        .description(description)
        .datasource(DATASOURCE)
        .query(f"label_values({metric}, {name})")
        .refresh(model.VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(model.VariableSort.ALPHABETICAL_ASC)
    )
    if multi:
        variable = (
            variable.multi(True)
            .include_all(True)
            .current(model.VariableOption(selected=True, text=["All"], value=["$__all"]))
        )
    return variable


def choice_variable(
    name: str, label: str, values: Sequence[str], current: str, description: str
) -> builders.CustomVariable:
    return (
        builders.CustomVariable(name)
        .label(label)
        .description(description)
        .values(",".join(values))
        .current(model.VariableOption(selected=True, text=current, value=current))
    )


def dashboard(uid: str, title: str, description: str, *, time_from: str) -> builders.Dashboard:
    """A golive dashboard: tagged, linked to the others, refreshed every 30 s."""
    return (
        builders.Dashboard(title)
        .uid(uid)
        .description(description)
        .tags(["golive"])
        .editable()
        .timezone("browser")
        .time(time_from, "now")
        .refresh("30s")
        .tooltip(model.DashboardCursorSync.CROSSHAIR)
        .link(
            builders.DashboardLink("golive dashboards")
            .type(model.DashboardLinkType.DASHBOARDS)
            .tags(["golive"])
            .as_dropdown(True)
            .include_vars(False)
            .keep_time(True)
        )
    )
