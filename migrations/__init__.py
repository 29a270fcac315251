"""Alembic migrations of httprouter (installed as the package httprouter.migrations)."""
