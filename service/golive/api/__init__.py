"""HTTP: health, metrics and the read API (FastAPI; OpenAPI at /openapi.json)."""
