"""The export's commands, registered on the `weiledger` app by cli/app.py:

    weiledger keys init [--tenant T]            the brand's Ed25519 key, outside the database
    weiledger keys rotate-kek                   re-wrap every personal-data key under a new KEK
    weiledger checkpoint [--tenant T] [--every N]   sign the ranges that are due
    weiledger export OUT.zip [--tenant T] [--from DATE] [--to DATE]   (verifies the
        ledger and signs a checkpoint through the head first)
    weiledger verify-export FILE.zip [--expect-key FINGERPRINT]   no database needed

Everything heavy is imported inside the commands: nothing is built at import time, and
verify-export never touches the database modules' code paths.
"""

from __future__ import annotations

import asyncio
import os
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from config.settings import Settings

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

keys = typer.Typer(help="the keys kept outside the database: the brand's signing key "
                   "(Ed25519), the personal-data key-encryption key", no_args_is_help=True)

TenantOption = Annotated[str | None, typer.Option(help="brand (default: WEILEDGER_TENANT)")]


def keys_dir(settings: Settings) -> Path:
    return settings.keys_folder()


def _key(settings: Settings, tenant: str) -> Ed25519PrivateKey:
    from export.signing import SigningKeyError, load_private_key

    try:
        return load_private_key(keys_dir(settings), tenant)
    except SigningKeyError as error:
        typer.echo(f"refused: {error}", err=True)
        raise typer.Exit(2) from error


def _date(text: str | None, option: str) -> date | None:
    try:
        return None if text is None else date.fromisoformat(text)
    except ValueError as error:
        raise typer.BadParameter(f"{text!r} is not a date (YYYY-MM-DD)",
                                 param_hint=option) from error


@keys.command("init")
def keys_init(tenant: TenantOption = None) -> None:
    """Create the brand's signing key (never replaces one)."""
    from export.signing import SigningKeyError, fingerprint, init_key, load_private_key

    settings = Settings()
    name = tenant or settings.tenant
    try:
        path = init_key(keys_dir(settings), name)
    except SigningKeyError as error:
        typer.echo(f"refused: {error}", err=True)
        raise typer.Exit(2) from error
    print_ = fingerprint(load_private_key(keys_dir(settings), name).public_key())
    typer.echo(f"key: {path} (mode 0600; keep it out of backups of the database)")
    typer.echo(f"public key: {path.with_suffix('.pub.pem')}")
    typer.echo(f"fingerprint: {print_} (publish it: auditors pin it with --expect-key)")


@keys.command("rotate-kek")
def keys_rotate_kek() -> None:
    """Re-wrap every personal-data key under a new key-encryption key, then delete the
    old KEK: no event is touched, and every copy of the database taken before holds
    keys that nothing opens any more (rotate after a forget, then take a new backup)."""
    from eventstore.database import connection, postgres_url
    from eventstore.kek import KekError, kek_files
    from eventstore.migrate import migrate
    from eventstore.vault import rotate_kek, wrap_legacy_keys

    settings = Settings()
    files = kek_files(settings)

    async def go(url: str) -> tuple[str, str, int]:
        async with connection(url, settings.describe_database()) as conn:  # the owner
            await migrate(conn)
            await wrap_legacy_keys(conn, files)
            return await rotate_kek(conn, files)

    try:
        with postgres_url(settings) as url:
            old, new, count = asyncio.run(go(url))
    except KekError as error:
        typer.echo(f"refused: {error}", err=True)
        raise typer.Exit(2) from error
    typer.echo(f"re-wrapped {count} personal data key(s): KEK {old} -> {new}")
    typer.echo(f"KEK {old} deleted from {files.where()}; new: {files.folder / files.name_of(new)}")
    typer.echo("take a new backup of the database now, and keep the KEK apart from it")


def _signed(cuts: list[Any], folder: Path) -> None:
    """Say what was signed, and print each receipt for whoever keeps a copy of their own."""
    for cut in cuts:
        typer.echo(f"signed {cut.first}..{cut.last} ({cut.trigger}): root {cut.root.hex()}")
        receipt = folder / f"{cut.last:012d}.json"
        typer.echo(f"receipt {receipt}: {receipt.read_text(encoding='utf-8').strip()}")


def checkpoint_command(
    tenant: TenantOption = None,
    every: Annotated[int | None, typer.Option(help="events per checkpoint")] = None,
) -> None:
    """Sign every range that is due: each N events and each period close."""
    from eventstore.database import open_database
    from eventstore.postgres import PostgresEventStore
    from export.checkpoints import checkpoint
    from export.receipts import receipts_folder

    settings = Settings()
    name = tenant or settings.tenant
    key = _key(settings, name)
    folder = receipts_folder(keys_dir(settings), name)

    async def go() -> None:
        async with open_database(settings) as pool:
            store = PostgresEventStore(pool)
            try:
                _signed(await checkpoint(store, name, key, every or settings.checkpoint_every,
                                         receipts=folder), folder)
            finally:
                await store.close()

    asyncio.run(go())


def export_command(
    out: Annotated[Path, typer.Argument(dir_okay=False, help="the zip to write")],
    tenant: TenantOption = None,
    since: Annotated[str | None, typer.Option("--from", help="first business date "
                                              "(CST); default: the ledger's beginning")] = None,
    until: Annotated[str | None, typer.Option("--to", help="last business date (CST); "
                                              "default: the head")] = None,
) -> None:
    """Write the signed audit export of a brand (streamed; verifiable offline). Refuses a
    ledger whose chain, chain head or receipts do not verify; signs through the head."""
    from cli.progress import progress
    from eventstore.database import open_database
    from eventstore.kek import KekError, kek_files
    from eventstore.postgres import PostgresEventStore
    from eventstore.vault import current_kek
    from export.guard import LedgerNotIntact, sign_head
    from export.receipts import receipts_folder
    from export.writer import ExportError, write_export
    from projections.registry import all_projections
    from projections.runner import ProjectionRunner

    settings = Settings()
    name = tenant or settings.tenant
    first, last = _date(since, "--from"), _date(until, "--to")
    key = _key(settings, name)
    part = out.with_name(out.name + ".part")

    async def go() -> dict[str, Any]:
        async with open_database(settings) as pool:
            store = PostgresEventStore(pool)
            try:
                _signed(await sign_head(pool, store, name, key, keys_dir(settings),
                                        settings.checkpoint_every),
                        receipts_folder(keys_dir(settings), name))
                runner = ProjectionRunner(pool, store, all_projections())
                await runner.ensure()
                for model in ("tree", "alerts", "disputes"):  # the CSVs that read them
                    await runner.catch_up(runner.projection(model))
                async with pool.acquire() as conn:
                    with part.open("wb") as sink, progress("export") as bar:
                        return await write_export(conn, name, sink, key,
                                                  await current_kek(conn, kek_files(settings)),
                                                  since=first, until=last, progress=bar)
            finally:
                await store.close()

    try:
        manifest = asyncio.run(go())
    except (ExportError, LedgerNotIntact, KekError) as error:
        part.unlink(missing_ok=True)
        typer.echo(f"refused: {error}", err=True)
        raise typer.Exit(2) from error
    os.replace(part, out)  # a reader never sees half an export under the final name
    span = manifest["range"]
    typer.echo(f"exported {name}: positions {span['first_position']}..{span['last_position']}"
               f", head {span['head_hash']}")
    for file, facts in manifest["files"].items():
        typer.echo(f"  {file}: {facts['rows']} rows, {facts['bytes']} bytes")
    if manifest["compliance_warning"]:
        typer.echo(f"WARNING {manifest['compliance_warning']}")
    typer.echo(f"signed with key {manifest['key_fingerprint']} -> {out}")


def verify_export_command(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="the export zip")],
    expect_key: Annotated[str | None, typer.Option(help="the brand's published key "
                                                   "fingerprint (sha256, hex)")] = None,
    after: Annotated[Path | None, typer.Option(
        exists=True, dir_okay=False, help="an earlier export: prove this one's log holds "
        "its log unchanged, or name the first position where they diverge")] = None,
) -> None:
    """Verify an export offline: signature, files, chain, log, checkpoints, arithmetic,
    statements; with --after, that it extends an earlier export."""
    from cli.progress import progress
    from export.verify.archive import verify_export

    with progress("verify-export", unit="check") as bar:
        report = verify_export(file, expect_key=expect_key, after=after, progress=bar)
    typer.echo(report.text())
    if not report.ok:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.add_typer(keys, name="keys")
    app.command("checkpoint")(checkpoint_command)
    app.command("export")(export_command)
    app.command("verify-export")(verify_export_command)
