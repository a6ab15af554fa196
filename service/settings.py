"""Settings from the environment, read once."""

from __future__ import annotations

import os
from pathlib import Path

import msgspec
import platformdirs

ROOT = Path(__file__).resolve().parent.parent


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
            migrations_dir=Path(env.get("IMPACTLOG_MIGRATIONS_DIR") or ROOT / "migrations"),
            host=env.get("IMPACTLOG_HOST", "127.0.0.1"),
            port=int(env.get("IMPACTLOG_PORT", "8000")),
            pool_min=int(env.get("IMPACTLOG_POOL_MIN", "2")),
            pool_max=int(env.get("IMPACTLOG_POOL_MAX", "16")),
            log_level=env.get("IMPACTLOG_LOG_LEVEL", "INFO"),
            max_body_bytes=int(env.get("IMPACTLOG_MAX_BODY_BYTES", str(10 * 1024 * 1024))),
        )
