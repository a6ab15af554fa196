"""Whether a runner's or a rebuild's database session is gone."""

from __future__ import annotations

from typing import Any

import asyncpg


def connection_lost(connection: Any) -> bool:
    """True when the connection is closed — or, for a pool proxy, already detached from a
    connection that died (asyncpg hands it back to the pool and the proxy refuses every call)."""
    try:
        return bool(connection.is_closed())
    except asyncpg.InterfaceError:
        return True
