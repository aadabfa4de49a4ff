"""Flask CLI commands: `flask --app portal demo`, `flask --app portal up`, ..."""

from flask import Flask


def register(app: Flask) -> None:
    from portal.cli import demo, up

    app.cli.add_command(demo.demo_command)
    app.cli.add_command(up.up_command)
