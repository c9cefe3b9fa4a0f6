"""Principals from the command line: the first admin, tokens for people and agents,
revocation, and HQ's people's console logins. A token is printed once, to the operator,
and stored only as its hash; a password is read from a prompt (or stdin) and stored
only as its argon2 hash."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer

from config.settings import Settings
from domain.agents.service import AgentService
from eventstore.database import Pool, open_database
from eventstore.kek import kek_files
from eventstore.postgres import PostgresEventStore
from eventstore.principals import (
    Issued,
    Principal,
    PrincipalError,
    Role,
    create_principal,
    has_admin,
    issue_token,
    list_principals,
    lock_principals,
    revoke,
)
from eventstore.sign_in import login_principal, set_password
from eventstore.vault import PostgresKeyVault

TenantOpt = Annotated[str | None, typer.Option(help="brand (default: WEILEDGER_TENANT)")]
DaysOpt = Annotated[float, typer.Option(help="days until the token expires")]
UsernameOpt = Annotated[str, typer.Option(help="the console username")]
StdinOpt = Annotated[bool, typer.Option(
    "--password-stdin", help="read the password from the first line of stdin, not a prompt")]


@contextmanager
def refusals() -> Iterator[None]:
    """A PrincipalError becomes `refused: …` on stderr and exit code 2."""
    try:
        yield
    except PrincipalError as error:
        typer.echo(f"refused: {error}", err=True)
        raise typer.Exit(2) from error


def read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return str(typer.prompt("password", hide_input=True, confirmation_prompt=True))


class AdminExists(PrincipalError):
    pass


async def _create_admin(settings: Settings, tenant: str, name: str, days: float,
                        username: str, password: str) -> Issued:
    async with open_database(settings) as pool, pool.acquire() as conn, conn.transaction():
        await lock_principals(conn, tenant)
        if await has_admin(conn, tenant):
            raise AdminExists(
                f"tenant {tenant} already has an admin: use `weiledger users token --role admin`"
                " with an admin's consent, or revoke and recreate"
            )
        principal = await create_principal(conn, tenant, Role.ADMIN, name)
        await set_password(conn, principal, username, password)
        return await issue_token(conn, principal, days, max_days=settings.token_max_days)


async def _create_login(settings: Settings, tenant: str, role: Role, name: str,
                        username: str, password: str) -> Principal:
    async with open_database(settings) as pool, pool.acquire() as conn, conn.transaction():
        await lock_principals(conn, tenant)
        if await login_principal(conn, tenant, username) is not None:
            raise PrincipalError(f"the username {username} is taken")
        if role is Role.AGENT:
            raise PrincipalError("an agent does not sign in to the console")
        principal = await create_principal(conn, tenant, role, name)
        await set_password(conn, principal, username, password)
        return principal


async def _reset_password(settings: Settings, tenant: str, username: str, password: str
                          ) -> Principal:
    async with open_database(settings) as pool:
        principal = await login_principal(pool, tenant, username)
        if principal is None:
            raise PrincipalError(f"tenant {tenant} has no console user {username}")
        await set_password(pool, principal, username, password)
        return principal


async def _agent_may_have_token(pool: Pool, tenant: str, agent: str) -> None:
    """Only an agent that joined, and was not forgotten, gets a token (its tokens stop
    working once it is forgotten: api.tokens)."""
    store = PostgresEventStore(pool)
    try:
        vault = await PostgresKeyVault.open(pool, kek_files(Settings()))
        found = await AgentService(store, vault).get(tenant, agent)
    finally:
        await store.close()
    if found is None:
        raise PrincipalError(f"tenant {tenant} has no agent {agent}")
    if found.forgotten:
        raise PrincipalError(f"agent {agent} was forgotten")


async def _token(settings: Settings, tenant: str, role: Role, name: str, agent: str | None,
                 days: float) -> Issued:
    async with open_database(settings) as pool:
        if agent is not None:
            await _agent_may_have_token(pool, tenant, agent)
        async with pool.acquire() as conn, conn.transaction():
            principal = await create_principal(conn, tenant, role, name, agent)
            return await issue_token(conn, principal, days, max_days=settings.token_max_days)


async def _revoke(settings: Settings, tenant: str, principal: str) -> int:
    async with open_database(settings) as pool:
        return await revoke(pool, tenant, principal)


async def _list(settings: Settings, tenant: str) -> list[Principal]:
    async with open_database(settings) as pool:
        return await list_principals(pool, tenant)


def create_admin(settings: Settings, tenant: str, name: str, days: float, username: str,
                 password: str) -> Issued:
    return asyncio.run(_create_admin(settings, tenant, name, days, username, password))


def token(settings: Settings, tenant: str, role: Role, name: str, agent: str | None,
          days: float) -> Issued:
    return asyncio.run(_token(settings, tenant, role, name, agent, days))


def revoke_tokens(settings: Settings, tenant: str, principal: str) -> int:
    return asyncio.run(_revoke(settings, tenant, principal))


def principals(settings: Settings, tenant: str) -> list[Principal]:
    return asyncio.run(_list(settings, tenant))


def register(app: typer.Typer) -> None:
    """`weiledger users …`: create-admin, token, revoke, list, create, reset-password."""
    users = typer.Typer(help="principals and their bearer tokens", no_args_is_help=True)
    app.add_typer(users, name="users")

    def show(issued: Issued) -> None:
        p = issued.principal
        typer.echo(f"principal {p.principal} ({p.role.value}"
                   + (f", agent {p.agent}" if p.agent else "") + f") of tenant {p.tenant}")
        typer.echo(f"expires {issued.expires_at:%Y-%m-%d %H:%M} UTC; shown once, keep it safe:")
        typer.echo(issued.token)

    @users.command("create-admin")
    def create_admin_command(name: Annotated[str, typer.Option(help="who")] = "HQ admin",
                             tenant: TenantOpt = None, days: DaysOpt = 30,
                             username: UsernameOpt = "admin",
                             password_stdin: StdinOpt = False) -> None:
        """Create the tenant's first admin: its console password (prompted, or from
        stdin) and its API token, printed once."""
        settings = Settings()
        password = read_password(password_stdin)
        with refusals():
            show(create_admin(settings, tenant or settings.tenant, name, days, username,
                              password))

    @users.command("create")
    def create_command(
        username: Annotated[str, typer.Argument(help="the console username")],
        role: Annotated[str, typer.Option(help="admin, operations, compliance, auditor")],
        name: Annotated[str | None, typer.Option(help="who (default: the username)")] = None,
        tenant: TenantOpt = None, password_stdin: StdinOpt = False,
    ) -> None:
        """A console user of an HQ role, with its password (prompted, or from stdin)."""
        settings = Settings()
        try:
            chosen = Role(role)
        except ValueError:
            typer.echo(f"refused: no role {role}", err=True)
            raise typer.Exit(2) from None
        password = read_password(password_stdin)
        with refusals():
            p = asyncio.run(_create_login(settings, tenant or settings.tenant, chosen,
                                          name or username, username, password))
        typer.echo(f"console user {username}: principal {p.principal} ({p.role.value})")

    @users.command("reset-password")
    def reset_password_command(
        username: Annotated[str, typer.Argument(help="the console username")],
        tenant: TenantOpt = None, password_stdin: StdinOpt = False,
    ) -> None:
        """Set a console user's password anew (its sessions end, its lock is lifted)."""
        settings = Settings()
        password = read_password(password_stdin)
        with refusals():
            asyncio.run(_reset_password(settings, tenant or settings.tenant, username,
                                        password))
        typer.echo(f"password of {username} set; its sessions ended")

    @users.command("token")
    def token_command(
        agent: Annotated[str | None, typer.Option(help="an agent's self-service token")] = None,
        role: Annotated[str | None, typer.Option(
            help="admin, operations, compliance, auditor, regulator")] = None,
        name: Annotated[str | None, typer.Option(help="who (a new principal)")] = None,
        tenant: TenantOpt = None, days: DaysOpt = 30,
    ) -> None:
        """Issue a token: for an agent (--agent A1) or a new principal of a role."""
        settings = Settings()
        try:
            chosen = Role.AGENT if agent else Role(role or "")
        except ValueError:
            typer.echo("refused: give --agent A1 or --role with a known role", err=True)
            raise typer.Exit(2) from None
        with refusals():
            show(token(settings, tenant or settings.tenant, chosen,
                       name or (f"agent {agent}" if agent else chosen.value), agent, days))

    @users.command("revoke")
    def revoke_command(principal: Annotated[str, typer.Argument(help="principal id")],
                       tenant: TenantOpt = None) -> None:
        """Revoke every token of a principal."""
        settings = Settings()
        count = revoke_tokens(settings, tenant or settings.tenant, principal)
        typer.echo(f"revoked {count} token(s) of {principal}")

    @users.command("list")
    def list_command(tenant: TenantOpt = None) -> None:
        """Every principal of the tenant (never a token)."""
        settings = Settings()
        for p in principals(settings, tenant or settings.tenant):
            typer.echo(f"{p.principal}\t{p.role.value}\t{p.agent or ''}\t{p.name}")
