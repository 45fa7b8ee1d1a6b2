"""``python -m reauto``: the same command line as the ``reauto`` console script."""

from reauto.cli.main import run

if __name__ == "__main__":
    raise SystemExit(run())
