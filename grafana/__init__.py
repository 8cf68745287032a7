"""golive's Grafana dashboards as code (grafana-foundation-sdk).

`python -m grafana.build` writes grafana/dashboards/*.json; `--check` fails when the
committed JSON has drifted from this source. See grafana/README.md.
"""
