"""Signing snapshot manifests with Ed25519, so anyone holding the public key can check them.

A signature reads ``ed25519:<public key, 64 hex>:<signature, 128 hex>``: it names the key it was
made with, so an auditor verifies it with the signature alone and then checks that the key is
the one the operator publishes (`impactlog snapshot key`). Ed25519 is deterministic: the same
key and manifest always give the same signature.

The server's key (a 32-byte seed, hex) comes from IMPACTLOG_SIGNING_KEY, else from the file
``<data dir>/snapshot-signing.key``, created (mode 0600) on first use. Every process that
publishes must share it: set the variable, or share the data dir.
"""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path
from typing import Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from indicators.snapshot import SnapshotManifest, manifest_bytes

log = logging.getLogger("impactlog.snapshots")

SCHEME = "ed25519"
KEY_FILE_NAME = "snapshot-signing.key"
_SEED_HEX_LENGTH = 64


class SnapshotSigner:
    """Signs manifests with one Ed25519 private key."""

    def __init__(self, seed: bytes) -> None:
        self._key = Ed25519PrivateKey.from_private_bytes(seed)
        self.public_key_hex = self._key.public_key().public_bytes_raw().hex()

    @classmethod
    def from_hex(cls, seed_hex: str) -> SnapshotSigner:
        """A signer from a 64-hex-digit seed; ValueError names what is wrong."""
        text = seed_hex.strip()
        if len(text) != _SEED_HEX_LENGTH:
            raise ValueError(f"a signing key is {_SEED_HEX_LENGTH} hex digits (32 bytes), got {len(text)}")
        return cls(bytes.fromhex(text))

    @classmethod
    def generate(cls) -> SnapshotSigner:
        """A signer with a fresh random key."""
        return cls(secrets.token_bytes(32))

    def sign(self, manifest: SnapshotManifest) -> str:
        """The signature of a manifest, naming the public key."""
        signature = self._key.sign(manifest_bytes(manifest)).hex()
        return f"{SCHEME}:{self.public_key_hex}:{signature}"


class Signer(Protocol):
    """Anything that signs manifests the way SnapshotSigner does."""

    def sign(self, manifest: SnapshotManifest) -> str:
        """The signature of a manifest, naming the public key."""
        ...


class ServerSigner:
    """The server's signer, loaded by `load_signer` on first use rather than at start, so a
    service that never publishes never touches a key file."""

    def __init__(self, seed_hex: str | None, data_dir: Path) -> None:
        self._seed_hex = seed_hex
        self._data_dir = data_dir
        self._signer: SnapshotSigner | None = None

    def signer(self) -> SnapshotSigner:
        """The loaded signer (loading it the first time)."""
        if self._signer is None:
            self._signer = load_signer(self._seed_hex, self._data_dir)
        return self._signer

    def sign(self, manifest: SnapshotManifest) -> str:
        """The signature of a manifest, naming the public key."""
        return self.signer().sign(manifest)


def signature_key(signature: str) -> str | None:
    """The public key (hex) a signature names, or None when it is not an Ed25519 signature."""
    parts = signature.split(":")
    return parts[1] if len(parts) == 3 and parts[0] == SCHEME else None


def signature_is_valid(signature: str, manifest: SnapshotManifest) -> bool:
    """Whether the signature is the named key's signature of this manifest."""
    parts = signature.split(":")
    if len(parts) != 3 or parts[0] != SCHEME:
        return False
    try:
        public_key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(parts[1]))
        public_key.verify(bytes.fromhex(parts[2]), manifest_bytes(manifest))
    except (ValueError, InvalidSignature):
        return False
    return True


def load_signer(seed_hex: str | None, data_dir: Path) -> SnapshotSigner:
    """The server's signer: the given seed (IMPACTLOG_SIGNING_KEY), else the data dir's key file,
    made on first use. A data dir that cannot be written gives a throwaway key, logged loudly:
    snapshots still verify (the signature names its key) but that key is not the server's."""
    if seed_hex:
        return SnapshotSigner.from_hex(seed_hex)
    path = data_dir / KEY_FILE_NAME
    try:
        if not path.exists():
            _write_new_key(path)
        return SnapshotSigner.from_hex(path.read_text())
    except OSError as error:
        log.warning(
            "no snapshot signing key: IMPACTLOG_SIGNING_KEY is unset and %s cannot be used (%s); "
            "signing with a throwaway key",
            path,
            error,
        )
        return SnapshotSigner.generate()


def _write_new_key(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written whole to a private file, then linked into place: two processes starting at once
    # end up with one key, and neither can read a half-written file.
    draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w") as file:
            file.write(secrets.token_bytes(32).hex() + "\n")
        os.link(draft, path)
        log.info("created a snapshot signing key at %s", path)
    except FileExistsError:
        pass
    finally:
        draft.unlink(missing_ok=True)
