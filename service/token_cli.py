"""`impactlog token create|revoke|list`: the admin's tools for access tokens.

Each command opens the configured database (DATABASE_URL, else the embedded server) and applies
pending migrations first, so a fresh installation can mint its first admin token straight away.
Messages go to stderr and the secret alone to stdout, so `TOKEN=$(impactlog token create …)` works.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import click

from service.auth import Principal, Role, TokenInfo, TokenRequestError, TokenStore
from service.database import create_pool, database_url
from service.migrate import MigrationError, migrate
from service.settings import Settings

T = TypeVar("T")


def with_token_store(work: Callable[[TokenStore], Awaitable[T]]) -> T:
    """Run `work` on a token store over the migrated database; errors become click messages."""
    settings = Settings.from_env()

    async def session() -> T:
        with database_url(settings) as dsn:
            pool = await create_pool(dsn, min_size=1, max_size=1)
            try:
                async with pool.acquire() as connection:
                    await migrate(connection, settings.migrations_dir)
                return await work(TokenStore(pool))
            finally:
                await pool.close()

    try:
        # A one-shot command: the plain asyncio loop is plenty.
        return asyncio.run(session())
    except (MigrationError, TokenRequestError) as error:
        raise click.ClickException(str(error)) from error


@click.group()
def token() -> None:
    """Create, revoke and list API access tokens."""


@token.command()
@click.option(
    "--role",
    required=True,
    type=click.Choice([r.value for r in Role]),
    help="admin: everything; staff: write and read their projects; funder: indicators, snapshots, "
    "dashboards; auditor: the log, audits, indicators, snapshots.",
)
@click.option(
    "--project",
    "projects",
    multiple=True,
    help="A project the token may reach (repeat for several); required except for admin.",
)
@click.option(
    "--name", default=None, help="Recorded as the actor of every event it writes (default <role>-<hex>)."
)
def create(role: str, projects: tuple[str, ...], name: str | None) -> None:
    """Make a token and print its secret as the last line (it is shown only this once)."""

    async def make(tokens: TokenStore) -> tuple[Principal, str]:
        return await tokens.create(role, projects, name)

    principal, secret = with_token_store(make)
    scope = ", ".join(sorted(principal.projects)) or "every project"
    click.echo(
        f"created token {principal.name} ({principal.role}; {scope}; id {principal.token_id})", err=True
    )
    click.echo("keep the secret below now: only its hash is stored", err=True)
    click.echo(secret)


@token.command()
@click.argument("name_or_id")
def revoke(name_or_id: str) -> None:
    """Revoke a token by name or id; it stops working on the next request."""

    async def revoke_one(tokens: TokenStore) -> bool:
        return await tokens.revoke(name_or_id)

    if not with_token_store(revoke_one):
        raise click.ClickException(f"no live token {name_or_id!r} (unknown, or revoked already)")
    click.echo(f"revoked token {name_or_id}")


@token.command(name="list")
def list_tokens() -> None:
    """Show every token (never a secret): name, role, projects, created, revoked."""

    async def every(tokens: TokenStore) -> list[TokenInfo]:
        return await tokens.list()

    for info in with_token_store(every):
        created = info.created_at.isoformat(timespec="seconds")
        state = f"revoked {info.revoked_at.isoformat(timespec='seconds')}" if info.revoked_at else "live"
        scope = ",".join(info.projects) or "*"
        click.echo(f"{info.name}\t{info.role}\t{scope}\tcreated {created}\t{state}\t{info.token_id}")
