"""`python -m api.cli` is the `wangge` command."""

from api.cli import app

app()
