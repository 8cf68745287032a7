"""The HTML report's style sheet: screen, phone (narrow) and print (A4)."""

CSS = """
:root { --ink: #1d1d1f; --muted: #5f6368; --rule: #d9dce1; --head: #f1f3f6;
  --better: #146c2e; --worse: #a8221a; --accent: #1f4e79; }
*, *::before, *::after { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; text-size-adjust: 100%; }
body { margin: 0 auto; max-width: 72rem; padding: 1rem; color: var(--ink); background: #fff;
  font: 16px/1.45 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; }
h1 { font-size: 1.45rem; line-height: 1.25; margin: .5rem 0 .25rem; overflow-wrap: anywhere; }
h2 { font-size: 1.2rem; margin: 2rem 0 .6rem; padding-bottom: .2rem;
  border-bottom: 2px solid var(--rule); }
h3 { font-size: 1rem; margin: 1.2rem 0 .4rem; }
p { margin: .4rem 0; overflow-wrap: anywhere; }
.meta { color: var(--muted); }
.note { border-left: 4px solid var(--accent); padding: .2rem .6rem; }
.table-wrap { max-width: 100%; overflow-x: auto; margin: .4rem 0 1rem; }
.table-wrap:focus-visible { outline: 2px solid var(--accent); }
table { border-collapse: collapse; font-size: .9rem; }
th, td { padding: .3rem .65rem; text-align: left; vertical-align: top; white-space: nowrap;
  border-bottom: 1px solid var(--rule); }
thead th { background: var(--head); font-weight: 600; border-bottom-color: #b9bec6; }
.num { text-align: right; font-variant-numeric: tabular-nums; }
.wrap { white-space: normal; min-width: 10rem; overflow-wrap: break-word; }
.better { color: var(--better); } .worse { color: var(--worse); }
figure { margin: .5rem 0 1rem; min-width: 0; }
figcaption { font-weight: 600; font-size: .95rem; margin-bottom: .3rem; overflow-wrap: anywhere; }
svg.chart { display: block; width: 100%; height: auto; max-width: 28rem; }
svg.chart-downtime { max-width: 32rem; }
.no-data { color: var(--muted); font-style: italic; }
.headline { display: flex; flex-wrap: wrap; gap: 0 2.5rem; align-items: flex-start; }
.headline > .table-wrap { flex: 0 1 auto; min-width: 0; }
.headline > figure { flex: 1 1 20rem; max-width: 28rem; }
.charts { display: grid; gap: .5rem 2.5rem;
  grid-template-columns: repeat(auto-fill, minmax(min(100%, 22rem), 1fr)); }
@media (max-width: 40rem) {
  body { padding: .75rem; }
  table { font-size: .85rem; }
  th, td { padding: .25rem .45rem; }
  /* The row's name stays in sight while the rest of a wide table scrolls under it; a
     long name wraps rather than cover the screen. */
  td:first-child, thead th:first-child { position: sticky; left: 0; background: #fff;
    min-width: 7rem; max-width: 11rem; white-space: normal; overflow-wrap: anywhere; }
  thead th:first-child { background: var(--head); }
}
@page { size: A4; margin: 14mm 12mm; }
@media print {
  body { max-width: none; padding: 0; font-size: 10pt; }
  h2 { margin-top: 1.2rem; }
  h2, h3 { break-after: avoid; page-break-after: avoid; }
  figure, .table-wrap, tr, .no-data { break-inside: avoid; page-break-inside: avoid; }
  .table-wrap { overflow: visible; }
  table { font-size: 7.5pt; }
  th, td { padding: .15rem .35rem; }
  thead { display: table-header-group; }
  thead th { background: none; border-bottom: 1.5px solid #000; }
  /* Charts at about the size of the tables' text; burn-ups two abreast. */
  svg.chart { max-width: 10cm; }
  .charts { grid-template-columns: repeat(2, 1fr); }
}
"""
