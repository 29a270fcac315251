"""`python -m httprouter`: the `httprouter` command, for when its script is not on PATH."""

from .ops.cli import main

if __name__ == "__main__":  # pragma: no cover
    main(prog_name="httprouter")
