"""`weiledger serve --demo`: the demo brand on first start, and tokens to try it.

The brand is cli/demo_brand.py's journal (a lawful brand of about 2,000 agents and a
handful of planted violations, README "The demo"), imported through run_journal like
any journal, so every rule judges it. Then the brand's signing key is made (the
regulator's export works at once), and the demo's HQ admin (found again at each start,
never one more) and an agent with stock get a token each.

A start interrupted while generating (SIGINT, SIGTERM, a crash) leaves lines recorded,
each with its idempotency key (its content hash), but not the journal's last line, the
`tick` that marks the brand complete. The next start finds the journal's date in its
first event, generates the same lines again and imports them: what was recorded
answers as before, the rest is judged, and it says so. Nothing is half-made for long.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import signal
from datetime import datetime

from cli.demo_brand import DAY, DAYS, DemoBrand
from cli.progress import progress
from config.settings import Settings
from domain.importing import idempotency_key, run_journal
from domain.periods import CST, cst_date
from eventstore.database import open_database
from eventstore.kek import kek_files
from eventstore.postgres import PostgresEventStore
from eventstore.principals import Role, create_principal, issue_token, named_principal
from eventstore.sign_in import login_principal, set_password
from eventstore.vault import PostgresKeyVault

ADMIN = "demo HQ admin"
DEMO_LOGIN = "demo"  # the console user `serve --demo` prints a password for
ACTOR = "demo"


def today_midnight() -> datetime:
    return datetime.combine(cst_date(datetime.now(CST)), datetime.min.time(), CST)


def _key(line: str) -> str:
    return idempotency_key(json.loads(line))


async def _begun(store: PostgresEventStore, tenant: str) -> datetime | None:
    """The end of the demo journal this tenant began with (its first event is the
    journal's first line, dated `end` - DAYS); None if the tenant is empty."""
    first = await store.read_all(tenant, limit=1)
    return None if not first else (first[0].business_time + DAYS * DAY).astimezone(CST)


def _ensure_signing_key(settings: Settings, tenant: str) -> str:
    from export.signing import fingerprint, init_key, key_path, load_private_key

    keys = settings.keys_folder()
    if not key_path(keys, tenant).exists():
        init_key(keys, tenant)
    return fingerprint(load_private_key(keys, tenant).public_key())


async def _prepare(settings: Settings) -> None:
    # SIGTERM as Ctrl-C: the generation is cancelled, its pool (and an embedded server)
    # closed on the way out; what was appended is whole, the next start finishes it.
    task = asyncio.current_task()
    assert task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    tenant = settings.tenant
    async with open_database(settings) as pool:
        store = PostgresEventStore(pool)
        try:
            end = await _begun(store, tenant)
            brand = DemoBrand(end or today_midnight())
            lines = list(brand.lines())  # a second or so; the judging is what takes time
            if end is not None and await store.recorded(tenant, _key(lines[0])) is None:
                print(f"tenant {tenant!r} holds a ledger that is not the demo brand:"
                      " served as it is, no demo made (another WEILEDGER_TENANT makes one;"
                      " `weiledger users create-admin` gives this one an admin)", flush=True)
                return
            if end is not None and await store.recorded(tenant, _key(lines[-1])):
                print(f"demo brand {tenant!r} is already there: new tokens only", flush=True)
            else:
                if end is None:
                    print(f"generating the demo brand {tenant!r}: {len(lines):,} commands"
                          " through the ledger's rules (once)", flush=True)
                else:
                    print(f"the demo brand {tenant!r} was interrupted while generating, at"
                          f" event {await store.head(tenant):,}: finishing it (what is"
                          " recorded answers as before)", flush=True)
                vault = await PostgresKeyVault.open(pool, kek_files(settings))
                with progress("demo brand", len(lines), unit="cmd") as update:
                    summary = await run_journal(store, vault, tenant, lines,
                                                progress=update, actor=ACTOR)
                print(summary.describe().splitlines()[0], flush=True)
            print(f"signing key {_ensure_signing_key(settings, tenant)}: the regulator's"
                  " export works now (weiledger export, GET /v1/exports)", flush=True)
            admin = await named_principal(pool, tenant, Role.ADMIN, ADMIN)
            admin = admin or await create_principal(pool, tenant, Role.ADMIN, ADMIN)
            seller = brand.token_agent
            agent = await create_principal(pool, tenant, Role.AGENT, f"demo agent {seller}",
                                           seller)
            hq = await issue_token(pool, admin, days=7)
            mine = await issue_token(pool, agent, days=7)
            # The console's demo login keeps its username and gets a new password.
            password = secrets.token_urlsafe(9)
            await set_password(pool, await login_principal(pool, tenant, DEMO_LOGIN) or admin,
                               DEMO_LOGIN, password)
        finally:
            await store.close()
    print("HQ admin token (7 days):  " + hq.token)
    print(f"agent {seller} token (7 days):  " + mine.token)
    print(f"HQ console: /console/ as {DEMO_LOGIN}, password {password}")
    print("in /docs: Authorize, paste a token; e.g. GET /v1/alerts, GET /v1/refusals,"
          f" GET /v1/me/stock as {seller} (README: what the demo plants)", flush=True)


def prepare_demo(settings: Settings) -> None:
    """Create (or finish) the demo brand; print an HQ and an agent token."""
    try:
        asyncio.run(_prepare(settings))
    except (KeyboardInterrupt, asyncio.CancelledError):
        print("stopped before the demo brand was ready: the next start finishes it",
              flush=True)
        raise SystemExit(1) from None
