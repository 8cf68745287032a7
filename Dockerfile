# golive's image: a virtualenv built in one stage, copied into a slim runtime that runs as
# an unprivileged user. Build from the repository root:  docker build -t golive .
FROM python:3.12-slim AS build
RUN python -m venv /opt/golive
COPY pyproject.toml README.md /src/
COPY service /src/service
RUN /opt/golive/bin/pip install --no-cache-dir /src

FROM python:3.12-slim
# A fixed uid/gid, so Kubernetes' runAsNonRoot and volume permissions can rely on it.
RUN groupadd --system --gid 10001 golive \
    && useradd --system --uid 10001 --gid golive --no-create-home --shell /usr/sbin/nologin golive
COPY --from=build /opt/golive /opt/golive
ENV PATH=/opt/golive/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    GOLIVE_HTTP_LISTEN=0.0.0.0:8080
USER 10001:10001
EXPOSE 8080
# Liveness only (/healthz): /readyz is 503 while Postgres or Kafka is away, and a
# container restart would not bring them back.
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=2)"]
ENTRYPOINT ["golive"]
CMD ["run"]
