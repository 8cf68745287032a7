"""Prometheus metrics: names are constants here; collectors are built on a registry
passed in (no global registry). The only package that imports prometheus_client."""
