"""Postgres: migrations, the events table, projections, offsets and read queries.

The only package that imports asyncpg."""
