"""CLI commands of the screening service: `screener serve`, `screener keys add|list|revoke`, `screener jobs prune`."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Optional

import typer
from rich.table import Table

from screener import settings
from screener.cli_options import Commands, DbOption, help_when_bare
from screener.console import err, out
from screener.paths import default_db_path
from screener.service.config import DEFAULT_RATE_PER_MINUTE, ServiceConfig, is_loopback
from screener.service.errors import ServiceError

WORKER_HEALTHCHECK_S = 60  # a worker loading the lists on a busy machine answers the supervisor's ping late
keys_app = Commands(help="API keys of the service: add, list, revoke.")
keys_app.callback(invoke_without_command=True)(help_when_bare)
jobs_app = Commands(help="The service's file-screening jobs: prune the old ones.")
jobs_app.callback(invoke_without_command=True)(help_when_bare)


def serve_command(
    host: Annotated[str, typer.Option("--host", metavar="HOST", help="Address to listen on; a non-loopback address needs API keys.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", metavar="PORT", min=1, max=65535, help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option("--workers", metavar="N", min=1, max=64, help="Worker processes.")] = 1,
    cors_origin: Annotated[Optional[list[str]], typer.Option(
        "--cors-origin", metavar="ORIGIN", help="Allow browser pages of this origin (repeatable); CORS is off without it.")] = None,
    open_reads: Annotated[Optional[bool], typer.Option(
        "--open-reads/--keyed-reads",
        help="Answer read endpoints without a key (default: on loopback only).")] = None,
    db: DbOption = None,
) -> None:
    """Serve the screening API (yente-compatible /match, OpenRefine /reconcile, jobs); docs at /docs."""
    if settings.ONE_CORE.value():  # each worker runs on a core of its own (screener.service.cores)
        settings.one_polars_thread()  # before anything here loads polars: these modules import it only when they run
    from screener.api_keys import active_key_count

    try:
        import uvicorn
    except ImportError as error:
        raise ServiceError("missing_extra", "the service needs its extra: pip install 'xuar-screener[service]'") from error
    db_path = default_db_path(db)
    loopback = is_loopback(host)
    if not loopback and active_key_count(db_path) == 0:
        raise ServiceError(
            "no_keys",
            f"refusing to listen on {host} without API keys: anyone who can reach it could write; "
            "create one with `screener keys add LABEL`, or listen on 127.0.0.1",
        )
    config = replace(  # the size limits as the environment sets them
        ServiceConfig.from_env(), db_path=db_path, open_reads=loopback if open_reads is None else open_reads,
        cors_origins=tuple(cors_origin or ()),
    )
    config.export()
    err.print(f"Serving on http://{host}:{port} (docs at /docs; reads {'open' if config.open_reads else 'need a key'}, "
              "writes need a key)", highlight=False)
    uvicorn.run("screener.service.app:create_app", factory=True, host=host, port=port, workers=workers,
                log_level="info", proxy_headers=False, server_header=False,
                timeout_worker_healthcheck=WORKER_HEALTHCHECK_S)


@keys_app.command("add")
def keys_add(
    label: Annotated[str, typer.Argument(metavar="LABEL", help="Who or what uses the key (e.g. erp, openrefine-anna).", show_default=False)],
    rate: Annotated[int, typer.Option("--rate", metavar="PER_MINUTE", min=1, help="Requests a minute the key may make.")] = DEFAULT_RATE_PER_MINUTE,
    db: DbOption = None,
) -> None:
    """Create an API key; it is shown once and stored only as a salted hash."""
    from screener.api_keys import add_key

    key, token = add_key(default_db_path(db), label, rate)
    err.print(f"Created key {key.key_id} for '{key.label}' ({key.rate_per_minute} requests a minute). "
              "Copy it now: it cannot be shown again.", highlight=False)
    out.print(token, highlight=False, soft_wrap=True)


@keys_app.command("list")
def keys_list(db: DbOption = None) -> None:
    """Every key issued: id, label, rate limit, created, revoked (never the secret)."""
    from screener.api_keys import list_keys

    keys = list_keys(default_db_path(db))
    if keys.is_empty():
        out.print("No API key yet: create one with `screener keys add LABEL`.")
        return
    table = Table(title="API keys")
    for column in ("key id", "label", "requests/min", "created", "revoked"):
        table.add_column(column)
    for row in keys.iter_rows(named=True):
        table.add_row(row["key_id"], row["label"], str(row["rate_per_minute"]), str(row["created_at"])[:19],
                      str(row["revoked_at"] or "")[:19])
    out.print(table)


@keys_app.command("revoke")
def keys_revoke(
    key_id: Annotated[str, typer.Argument(metavar="KEY_ID", help="The key id `screener keys list` shows.", show_default=False)],
    db: DbOption = None,
) -> None:
    """Revoke a key: a running server refuses it within seconds."""
    from screener.api_keys import revoke_key

    revoke_key(default_db_path(db), key_id)
    err.print(f"Revoked key {key_id}.", highlight=False)


@jobs_app.command("prune")
def jobs_prune(
    older_than: Annotated[Optional[int], typer.Option(
        "--older-than", metavar="DAYS", min=0,
        help="Delete jobs finished more than DAYS days ago (default: $SCREENER_JOB_RETENTION_DAYS).")] = None,
    db: DbOption = None,
) -> None:
    """Delete finished service jobs, their stored results, uploads and reports (the service does it too, past the
    retention, when a job is submitted); queued and running jobs are kept."""
    from screener.jobs.store import prune_jobs

    days = settings.JOB_RETENTION_DAYS.value() if older_than is None else older_than
    deleted = prune_jobs(default_db_path(db), days)
    err.print(f"Deleted {len(deleted)} job{'s' if len(deleted) != 1 else ''} finished more than {days} days ago.",
              highlight=False)


commands = Commands()
commands.command("serve")(serve_command)
commands.add_typer(keys_app, name="keys")
commands.add_typer(jobs_app, name="jobs")
