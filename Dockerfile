# httprouter service image: gunicorn on port 8080, as a non-root user, migrations applied on start
# (set MIGRATE_ON_START=false to skip). `docker run IMAGE worker` runs a push dispatcher instead.
# Settings come from HTTPROUTER_<KEY> variables or a file named by HTTPROUTER_CONFIG.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HTTPROUTER_PORT=8080 \
    HTTPROUTER_DATABASE_URL=sqlite:////data/httprouter.sqlite3

RUN useradd --create-home --uid 10001 httprouter \
    && mkdir -p /data /var/lib/httprouter/metrics \
    && chown httprouter /data /var/lib/httprouter/metrics

WORKDIR /app
COPY pyproject.toml README.md ./
COPY httprouter ./httprouter
COPY migrations ./migrations
RUN pip install --no-cache-dir .
COPY docker/entrypoint.sh /usr/local/bin/httprouter-entrypoint

USER httprouter
WORKDIR /data
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('HTTPROUTER_PORT', '8080'), timeout=4)"
ENTRYPOINT ["httprouter-entrypoint"]
CMD ["serve"]
