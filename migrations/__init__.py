"""Alembic migrations of httprouter: the package httprouter.migrations.

This folder stays at the top of the repository; `httprouter/migrations` is a link to it, so a
checkout, an editable install and a wheel all import it as httprouter.migrations, and
ops/migrate.py gives alembic its path from there.
"""

# The newest revision in versions/: what /readyz expects the database to be at, known without
# loading alembic in every web worker. A new migration changes it (a test checks it is alembic's
# head).
HEAD_REVISION = "0005"
