import click


@click.command("up")
def up_command() -> None:
    """Placeholder replaced below."""
