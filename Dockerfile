# httprouter service image: gunicorn on port 8080, migrations applied on start.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    HTTPROUTER_DATABASE_URL=sqlite:////data/httprouter.sqlite3

RUN useradd --create-home --uid 10001 httprouter && mkdir /data && chown httprouter /data
WORKDIR /app
COPY pyproject.toml README.md ./
COPY httprouter ./httprouter
COPY migrations ./migrations
RUN pip install .

USER httprouter
WORKDIR /data
EXPOSE 8080
CMD ["httprouter", "serve", "--host", "0.0.0.0", "--port", "8080"]
