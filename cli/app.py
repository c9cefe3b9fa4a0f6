"""The `weiledger` command line. Builds what it needs per command; nothing at import."""

from __future__ import annotations

import asyncio
import gc
import json
import os
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cli import export as export_commands
from cli.users import register as register_users
from config.settings import Settings
from eventstore.database import connection, postgres_url
from eventstore.errors import DatabaseUnavailable
from eventstore.migrate import MigrationError, migrate

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Iterator

    from domain.importing import Summary
    from projections.runner import ProjectionRunner

app = typer.Typer(help="weiledger: agent hierarchy and order ledger", no_args_is_help=True)


@app.callback()
def _process() -> None:
    """weiledger: agent hierarchy and order ledger."""
    from config.runtime import tune_gc

    tune_gc()
    _check_settings()


def _check_settings() -> None:
    """A setting the environment got wrong is named, once, before any command runs (not
    a traceback from wherever a command first reads the settings)."""
    from pydantic import ValidationError

    try:
        Settings()
    except ValidationError as error:
        for problem in error.errors():
            name = "_".join(str(part) for part in problem["loc"]).upper()
            # The value itself is not echoed: a setting may hold a secret.
            typer.echo(f"setting WEILEDGER_{name}: {problem['msg']}", err=True)
        raise typer.Exit(2) from None


db = typer.Typer(help="database: migrations and the hash chain", no_args_is_help=True)
app.add_typer(db, name="db")
projections = typer.Typer(help="read models: catch up, rebuild", no_args_is_help=True)
app.add_typer(projections, name="projections")
export_commands.register(app)  # keys init, checkpoint, export, verify-export (export)
register_users(app)  # users create-admin, token, revoke, list (cli/users.py)


def _with_runner(work: Callable[[ProjectionRunner], Awaitable[int]], what: str) -> int:
    """Run `work` with a projection runner over the configured database, its progress
    drawn as `what`."""
    from cli.progress import progress
    from eventstore.database import open_database
    from eventstore.postgres import PostgresEventStore
    from projections.registry import all_projections
    from projections.runner import ProjectionRunner

    async def go() -> int:
        async with open_database(Settings()) as pool:
            store = PostgresEventStore(pool)
            try:
                with progress(what) as bar:
                    runner = ProjectionRunner(pool, store, all_projections(), progress=bar)
                    await runner.ensure()
                    return await work(runner)
            finally:
                await store.close()

    return asyncio.run(go())


@projections.command("catch-up")
def projections_catch_up() -> None:
    """Bring every read model up to the head of every tenant, then stop."""

    async def work(runner: ProjectionRunner) -> int:
        if runner.progress is not None:
            runner.progress.size(await runner.behind())
        applied = await runner.catch_up_all()
        for name, why in runner.halted.items():
            typer.echo(f"HALTED {name}: {why}", err=True)
        return applied if not runner.halted else -1

    applied = _with_runner(work, "catch-up")
    if applied < 0:
        raise typer.Exit(1)
    typer.echo(f"caught up: {applied} event(s) applied")


@projections.command("rebuild")
def projections_rebuild(name: Annotated[str, typer.Argument(help="the projection")]) -> None:
    """Rebuild one read model from position 0 into fresh tables and swap it in (safe while
    the service runs)."""

    async def work(runner: ProjectionRunner) -> int:
        if runner.progress is not None:
            runner.progress.size(sum([await runner.store.head(t) for t in await runner.tenants()]))
        return await runner.rebuild(name)

    try:
        applied = _with_runner(work, f"rebuild {name}")
    except KeyError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(2) from error
    typer.echo(f"rebuilt {name}: {applied} event(s) applied, swapped in")


@app.command()
def serve(
    host: str | None = None,
    port: int | None = None,
    demo: Annotated[bool, typer.Option(help="on first start, generate a demo brand")] = False,
    workers: Annotated[int | None, typer.Option(
        min=1, help="processes serving requests (default: WEILEDGER_WORKERS, or 1)")] = None,
) -> None:
    """Run the HTTP service."""
    import uvicorn

    from api.app import create_app

    settings = Settings()
    if demo:
        from cli.demo import prepare_demo

        prepare_demo(settings)
    workers = workers or settings.workers
    host, port = host or settings.host, port or settings.port
    typer.echo(f"weiledger on http://{host}:{port}/docs")
    typer.echo(f"database: {settings.describe_database()}")
    if workers == 1:
        from cli.serving import GRACE_SECONDS
        from config.runtime import serving_gc

        app = create_app(settings)
        serving_gc()
        uvicorn.run(app, host=host, port=port, timeout_graceful_shutdown=GRACE_SECONDS)
        return
    # Several processes, each with its own socket, pool, cache and event loop; the
    # embedded server, if any, is started here once and the workers are told where it is.
    from cli.serving import serve_workers

    with postgres_url(settings) as url:
        os.environ["DATABASE_URL"] = url
        code = serve_workers(host, port, workers)
    if code:
        raise typer.Exit(code)


@app.command("import")
def import_journal(
    journal: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="JSONL journal")],
    tenant: Annotated[str | None, typer.Option(help="brand (default: WEILEDGER_TENANT)")] = None,
    progress: Annotated[bool, typer.Option(help="a progress bar on stderr when it is a "
                                           "terminal (WEILEDGER_PROGRESS=1: always)")] = True,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="judge every line against the ledger, in order; record nothing")] = False,
    report: Annotated[Path | None, typer.Option(
        help="where the reconciliation report goes (PATH.json, PATH.csv; default: beside"
             " the journal)")] = None,
    one_at_a_time: Annotated[bool, typer.Option(
        "--one-at-a-time", help="record each line before judging the next (no batches)")]
        = False,
) -> None:
    """Run a command journal through the ledger, as the API would; print a summary and
    the reconciliation report (also written as JSON and CSV).

    The whole file is checked first: one malformed line and nothing is recorded (exit 1),
    every bad line named. Importing it again, or a corrected copy, records nothing twice."""
    from cli.progress import progress as drawn
    from domain.importing import run_journal
    from eventstore.database import open_database
    from eventstore.kek import kek_files
    from eventstore.postgres import PostgresEventStore
    from eventstore.vault import PostgresKeyVault

    settings = Settings()

    async def go() -> Summary:
        async with open_database(settings) as pool:
            store = PostgresEventStore(pool)
            vault = await PostgresKeyVault.open(pool, kek_files(settings))
            try:
                lines = _JournalFile(journal)
                with drawn("import", len(lines), unit="cmd", enabled=progress) as bar:
                    return await run_journal(
                        store, vault, tenant or settings.tenant, lines,
                        progress=bar, actor=f"import:{journal.name}",
                        bulk=not one_at_a_time, record=not dry_run,
                    )
            finally:
                await store.close()

    with _few_collections():
        summary = asyncio.run(go())
    typer.echo(summary.describe())
    typer.echo(summary.reconciliation())
    base = report or journal.with_name(journal.name.removesuffix(".jsonl") + ".report")
    if base.suffix in (".json", ".csv"):
        base = base.with_suffix("")
    as_json, as_csv = (base.with_name(base.name + ext) for ext in (".json", ".csv"))
    as_json.write_text(json.dumps(summary.report(), ensure_ascii=False, indent=1),
                       encoding="utf-8")
    as_csv.write_text(summary.report_csv(), encoding="utf-8")
    typer.echo(f"report: {as_json}, {as_csv}")
    if dry_run:
        typer.echo("dry run: nothing recorded")
    if summary.malformed:
        raise typer.Exit(1)


@contextmanager
def _few_collections() -> Iterator[None]:
    """A long import holds a million live objects (its aggregate cache, the settlement
    it carries) and makes garbage at every command: at the default thresholds the
    cyclic collector walks them over and over (200,000 commands: 129 s, against 92 s
    with these; bench.importing). Nothing it makes is cyclic garbage worth hunting often."""
    before = gc.get_threshold()
    gc.set_threshold(100_000, 50, 1000)
    try:
        yield
    finally:
        gc.set_threshold(*before)


class _JournalFile:
    """A journal's lines as bytes (a line not UTF-8 is named, not a crash), read afresh
    at each iteration: the importer reads it twice rather than hold it in memory."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __iter__(self) -> Iterator[bytes]:
        with self.path.open("rb") as f:
            for raw in f:
                yield raw.rstrip(b"\r\n")

    def __len__(self) -> int:
        """How many lines (the progress bar's total): one quick pass, nothing kept."""
        with self.path.open("rb") as f:
            return sum(1 for _ in f)


@app.command("verify-payouts")
def verify_payouts_command(
    tenant: Annotated[str | None, typer.Option(help="one tenant only")] = None,
) -> None:
    """Re-derive every statement from the events alone; print every difference."""
    from cli.progress import progress
    from eventstore.database import open_database
    from eventstore.postgres import PostgresEventStore
    from projections.payouts import verify_payouts
    from projections.registry import all_projections
    from projections.runner import ProjectionRunner

    async def go() -> dict[str, list[str]]:
        async with open_database(Settings()) as pool:
            store = PostgresEventStore(pool)
            try:
                runner = ProjectionRunner(pool, store, all_projections())
                await runner.ensure()
                await runner.catch_up(runner.projection("statements"))
                tenants = [tenant] if tenant else await runner.tenants()
                with progress("verify-payouts") as bar:
                    bar.size(sum([await store.head(t) for t in tenants]))
                    return {t: await verify_payouts(store, pool, t, bar) for t in tenants}
            finally:
                await store.close()

    found = asyncio.run(go())
    for name, differences in found.items():
        for difference in differences:
            typer.echo(f"DIFFERENT {name} {difference}")
    count = sum(len(d) for d in found.values())
    typer.echo(f"verified the statements of {len(found)} tenant(s): "
               + ("no differences" if count == 0 else f"{count} difference(s)"))
    if count:
        sys.exit(1)


@db.command("migrate")
def db_migrate() -> None:
    """Apply the SQL migrations that are missing."""
    settings = Settings()

    async def go(url: str) -> list[str]:
        async with connection(url, settings.describe_database()) as conn:
            return await migrate(conn)

    try:
        with postgres_url(settings) as url:
            applied = asyncio.run(go(url))
    except MigrationError as error:
        typer.echo(f"refused: {error}", err=True)
        raise typer.Exit(2) from error
    typer.echo("applied: " + ", ".join(applied) if applied else "up to date")


def _receipt_keys(folder: Path, tenant: str | None,
                  faults: list[str]) -> list[tuple[str, Path, Any]]:
    """Each tenant folder of receipts with the brand's public key that checks them (from
    the keys folder, never from the receipts: a forger would bring their own)."""
    from export.signing import SigningKeyError, key_path, load_public_pem

    keys = export_commands.keys_dir(Settings())
    found: list[tuple[str, Path, Any]] = []
    for each in sorted(p for p in folder.iterdir() if p.is_dir()):
        if tenant is not None and each.name != tenant:
            continue
        try:
            pem = key_path(keys, each.name).with_suffix(".pub.pem").read_bytes()
            found.append((each.name, each, load_public_pem(pem)))
        except (OSError, SigningKeyError) as error:
            faults.append(f"tenant {each.name}: no public key to check its receipts ({error})")
    return found


@db.command("verify-chain")
def db_verify_chain(
    tenant: Annotated[str | None, typer.Option(help="one tenant only")] = None,
    receipts: Annotated[Path | None, typer.Option(
        file_okay=False, help="also hold the log against the signed receipts in DIR "
        "(<keys>/receipts: one folder per tenant)")] = None,
) -> None:
    """Recompute every event hash; name the position where the chain breaks. With
    --receipts, name the first position where the log departs from a signed receipt
    (a truncation, a deleted tail, a rewrite with every hash recomputed)."""
    from eventstore.verify import ChainReport, verify_chain

    settings = Settings()
    faults: list[str] = []
    held = [] if receipts is None else _receipt_keys(receipts, tenant, faults)

    async def go(url: str) -> ChainReport:
        from cli.progress import progress
        from export.receipts import check_receipts

        async with connection(url, settings.describe_database()) as conn:
            with progress("verify-chain") as bar:
                report = await verify_chain(conn, tenant, progress=bar)
            for name, folder, public in held:
                found = await check_receipts(conn, name, folder, public)
                faults.extend(found.faults)
                typer.echo(f"held tenant {name} against {found.receipts} receipt(s), "
                           f"through position {found.covered}")
            return report

    with postgres_url(settings) as url:
        report = asyncio.run(go(url))
    for fault in report.breaks:
        typer.echo(f"BROKEN {fault}", err=True)
    for text in faults:
        typer.echo(f"BROKEN {text}", err=True)
    typer.echo(f"checked {report.events} events of {report.tenants} tenant(s): "
               + ("intact" if report.intact else f"{len(report.breaks)} break(s)")
               + ("" if receipts is None else
                  "; receipts " + ("agree" if not faults else f"{len(faults)} disagreement(s)")))
    if not report.intact or faults:
        sys.exit(1)


def main() -> None:
    """The `weiledger` script: a database that cannot be reached or refuses us is one
    line (where, without the password, and why) and exit code 2, from any command, not
    a traceback of the driver's."""
    try:
        app()
    except DatabaseUnavailable as error:
        typer.echo(f"database unavailable: {error}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
