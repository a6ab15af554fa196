"""Settings from the environment, read once."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import msgspec
import platformdirs

ROOT = Path(__file__).resolve().parent.parent


def default_migrations_dir(root: Path = ROOT, prefix: Path = Path(sys.prefix)) -> Path:
    """The numbered SQL files: beside the code in a checkout (or an editable install), else
    where an installed package put them (pyproject.toml's data-files)."""
    beside = root / "migrations"
    installed = prefix / "share" / "impactlog" / "migrations"
    return beside if beside.is_dir() or not installed.is_dir() else installed


def default_data_dir() -> Path:
    """Where the embedded database lives when IMPACTLOG_DATA_DIR is unset.

    As root the embedded server makes every parent of its data directory world-readable, so
    root's default is /var/lib/impactlog rather than a folder under /root.
    """
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        return Path("/var/lib/impactlog")
    return Path(platformdirs.user_data_dir("impactlog"))


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """Everything configurable, with the environment variable that sets it."""

    database_url: str | None  # DATABASE_URL; None → embedded PostgreSQL
    data_dir: Path  # IMPACTLOG_DATA_DIR
    migrations_dir: Path  # IMPACTLOG_MIGRATIONS_DIR
    host: str  # IMPACTLOG_HOST
    port: int  # IMPACTLOG_PORT
    pool_min: int  # IMPACTLOG_POOL_MIN
    pool_max: int  # IMPACTLOG_POOL_MAX
    log_level: str  # IMPACTLOG_LOG_LEVEL
    max_body_bytes: int  # IMPACTLOG_MAX_BODY_BYTES

    @classmethod
    def from_env(cls) -> Settings:
        """Read the settings from environment variables."""
        env = os.environ
        return cls(
            database_url=env.get("DATABASE_URL") or None,
            data_dir=Path(env.get("IMPACTLOG_DATA_DIR") or default_data_dir()),
            migrations_dir=Path(env.get("IMPACTLOG_MIGRATIONS_DIR") or default_migrations_dir()),
            host=env.get("IMPACTLOG_HOST", "127.0.0.1"),
            port=int(env.get("IMPACTLOG_PORT", "8000")),
            pool_min=int(env.get("IMPACTLOG_POOL_MIN", "2")),
            pool_max=int(env.get("IMPACTLOG_POOL_MAX", "16")),
            log_level=env.get("IMPACTLOG_LOG_LEVEL", "INFO"),
            max_body_bytes=int(env.get("IMPACTLOG_MAX_BODY_BYTES", str(10 * 1024 * 1024))),
        )
