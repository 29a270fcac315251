"""One module of engine table rows per gateway engine (see tests/support/engine_table.py)."""
