"""Principals from the command line: the first admin, tokens for people and agents,
revocation. A token is printed once, to the operator, and stored only as its hash."""

from __future__ import annotations

import asyncio
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
from eventstore.vault import PostgresKeyVault

TenantOpt = Annotated[str | None, typer.Option(help="brand (default: WEILEDGER_TENANT)")]
DaysOpt = Annotated[float, typer.Option(help="days until the token expires")]


class AdminExists(PrincipalError):
    pass


async def _create_admin(settings: Settings, tenant: str, name: str, days: float) -> Issued:
    async with open_database(settings) as pool, pool.acquire() as conn, conn.transaction():
        await lock_principals(conn, tenant)
        if await has_admin(conn, tenant):
            raise AdminExists(
                f"tenant {tenant} already has an admin: use `weiledger users token --role admin`"
                " with an admin's consent, or revoke and recreate"
            )
        principal = await create_principal(conn, tenant, Role.ADMIN, name)
        return await issue_token(conn, principal, days, max_days=settings.token_max_days)


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


def create_admin(settings: Settings, tenant: str, name: str, days: float) -> Issued:
    return asyncio.run(_create_admin(settings, tenant, name, days))


def token(settings: Settings, tenant: str, role: Role, name: str, agent: str | None,
          days: float) -> Issued:
    return asyncio.run(_token(settings, tenant, role, name, agent, days))


def revoke_tokens(settings: Settings, tenant: str, principal: str) -> int:
    return asyncio.run(_revoke(settings, tenant, principal))


def principals(settings: Settings, tenant: str) -> list[Principal]:
    return asyncio.run(_list(settings, tenant))


def register(app: typer.Typer) -> None:
    """`weiledger users …`: create-admin, token, revoke, list."""
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
                             tenant: TenantOpt = None, days: DaysOpt = 30) -> None:
        """Create the tenant's first admin and print its token once."""
        settings = Settings()
        try:
            show(create_admin(settings, tenant or settings.tenant, name, days))
        except PrincipalError as error:
            typer.echo(f"refused: {error}", err=True)
            raise typer.Exit(2) from error

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
        try:
            show(token(settings, tenant or settings.tenant, chosen,
                       name or (f"agent {agent}" if agent else chosen.value), agent, days))
        except PrincipalError as error:
            typer.echo(f"refused: {error}", err=True)
            raise typer.Exit(2) from error

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
