"""golive's alerts: lifecycle (pure), delivery to Alertmanager API v2, the leader's
notifier. The only package that talks to Alertmanager."""
