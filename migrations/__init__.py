"""Alembic migrations of httprouter (installed as the package httprouter.migrations)."""

# The newest revision in versions/: what /readyz expects the database to be at, known without
# loading alembic in every web worker. A new migration changes it (a test checks it is alembic's
# head).
HEAD_REVISION = "0005"
