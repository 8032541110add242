"""Health data encrypted field by field in the lead store, and searched by keyed hashes.

Names, contacts, preferred times, reasons, screening answers, transcripts,
staff notes and the notification bodies that carry a name are stored as
`enc1:<key id>:<base64 of nonce and AES-256-GCM ciphertext>`, the column's
name as associated data (a value moved to another column does not decrypt).
A name or phone number is found by an HMAC-SHA256 of its normalised words and
digits (`search_terms`), kept beside the ciphertext; the HMAC key never changes
with a rotation, so the hashes stay valid.

The keys: MEDIUS_DATA_KEYS ("id:base64key,id:base64key", the first encrypts,
all decrypt) or the file MEDIUS_DATA_KEY_FILE (default `var/data-keys`, 0600,
made on first use: one "id:base64key" a line, the first encrypts, and a line
"search:base64key"), as a secret manager would mount it. `python -m bot keys
rotate` puts a new key first in the file: every process reads the file again
within RELOAD_SECONDS, so new writes use the new key at once, with no restart;
its re-encrypt job then moves the older rows to it (`reencrypt`).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Tuple

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy.types import Text, TypeDecorator

from bot.core.settings import Settings

PREFIX = "enc1"
RELOAD_SECONDS = 2.0


class DataKeyError(RuntimeError):
    """The keys are missing or wrong: a clear start-up error, never a silent plaintext write."""


@dataclass(frozen=True)
class Keyring:
    current: str
    keys: Dict[str, bytes]
    search_key: bytes

    def encrypt(self, value: str, column: str) -> str:
        nonce = secrets.token_bytes(12)
        sealed = AESGCM(self.keys[self.current]).encrypt(nonce, value.encode("utf-8"), column.encode())
        return f"{PREFIX}:{self.current}:{base64.b64encode(nonce + sealed).decode()}"

    def decrypt(self, stored: str, column: str) -> str:
        if not stored.startswith(PREFIX + ":"):
            return stored  # written before encryption; the re-encrypt job moves it
        _, key_id, blob = stored.split(":", 2)
        if key_id not in self.keys:
            raise DataKeyError(f"data key {key_id!r} is not among the configured keys")
        raw = base64.b64decode(blob)
        return AESGCM(self.keys[key_id]).decrypt(raw[:12], raw[12:], column.encode()).decode("utf-8")


def _parse(lines: Iterable[str], source: str) -> Tuple[List[Tuple[str, bytes]], Optional[bytes]]:
    keys, search = [], None
    for line in lines:
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key_id, _, encoded = line.partition(":")
        try:
            key = base64.b64decode(encoded, validate=True)
        except ValueError:
            raise DataKeyError(f"{source}: a key that is not base64") from None
        if len(key) != 32 or not re.fullmatch(r"[A-Za-z0-9_-]{1,32}", key_id):
            raise DataKeyError(f"{source}: each line is <id>:<base64 of 32 bytes>")
        if key_id == "search":
            search = key
        else:
            keys.append((key_id, key))
    return keys, search


def new_key_line(key_id: Optional[str] = None) -> str:
    key_id = key_id or time.strftime("k%Y%m%d%H%M%S")
    return f"{key_id}:{base64.b64encode(secrets.token_bytes(32)).decode()}"


def ensure_key_file(path: Path) -> None:
    """Make the key file with a first data key and the search key, readable by its owner only, if it is missing."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    with os.fdopen(descriptor, "w") as out:
        out.write(f"{new_key_line('k1')}\nsearch:{base64.b64encode(secrets.token_bytes(32)).decode()}\n")


class _Source:
    """Where the keys come from, read again when the key file changes (a rotation in another process)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ring: Optional[Keyring] = None
        self._stamp: Any = None
        self._checked = 0.0

    def ring(self) -> Keyring:
        now = time.monotonic()
        if self._ring is not None and now - self._checked < RELOAD_SECONDS:
            return self._ring
        with self._lock:
            from bot.core.settings import get_settings

            settings = get_settings()
            if settings.data_keys:
                stamp: Any = settings.data_keys
                lines, source = settings.data_keys.split(","), "MEDIUS_DATA_KEYS"
            else:
                ensure_key_file(settings.data_key_file)
                info = settings.data_key_file.stat()
                stamp = (info.st_mtime_ns, info.st_size)
                if stamp == self._stamp and self._ring is not None:
                    self._checked = now
                    return self._ring
                lines, source = settings.data_key_file.read_text().splitlines(), str(settings.data_key_file)
            keys, search = _parse(lines, source)
            if not keys or search is None:
                raise DataKeyError(f"{source}: needs at least one data key and a 'search:' key")
            self._ring = Keyring(keys[0][0], dict(keys), search)
            self._stamp, self._checked = stamp, now
            return self._ring

    def forget(self) -> None:
        self._ring, self._stamp = None, None


keys = _Source()


class EncryptedText(TypeDecorator):
    """A text column stored encrypted; `column` is bound in as associated data."""

    impl = Text
    cache_ok = True

    def __init__(self, column: str) -> None:
        super().__init__()
        self.column = column

    def process_bind_param(self, value: Optional[str], dialect: Any) -> Optional[str]:
        return None if value is None else keys.ring().encrypt(str(value), self.column)

    def process_result_value(self, value: Optional[str], dialect: Any) -> Optional[str]:
        return None if value is None else keys.ring().decrypt(value, self.column)


class EncryptedJSON(EncryptedText):
    """A JSON value (screening answers, a transcript) stored as encrypted JSON text."""

    def process_bind_param(self, value: Any, dialect: Any) -> Optional[str]:
        return None if value is None else super().process_bind_param(json.dumps(value, ensure_ascii=False), dialect)

    def process_result_value(self, value: Optional[str], dialect: Any) -> Any:
        text = super().process_result_value(value, dialect)
        return None if text is None else json.loads(text)


def secret_for(settings: Settings, purpose: bytes) -> str:
    """A signing key for one purpose, derived from the internal secret, so every process and worker agrees."""
    if not settings.internal_token:
        return secrets.token_urlsafe(32)  # a test app without the secret: valid for this process only
    return hmac.new(settings.internal_token.encode(), purpose, hashlib.sha256).hexdigest()


def keyed(settings: Settings, purpose: str, value: str) -> str:
    """A keyed hash from the internal secret (not the data keys): the same in every process, never the value itself.

    Client addresses in the login throttle and the audit log, emails in the throttle.
    """
    key = hashlib.sha256(f"medius-{purpose}|{settings.internal_token}".encode()).digest()
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()[:40]


def _hash(kind: str, value: str) -> str:
    return hmac.new(keys.ring().search_key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()[:24]


def _words(text: str) -> List[str]:
    return [w for w in re.findall(r"[^\W\d_]+", text.lower()) if len(w) >= 2]


def search_terms(name: Optional[str], phone: Optional[str]) -> str:
    """The keyed hashes a lead is found by: each word of the name, and the phone's digits (all, last 7, last 4)."""
    terms = {_hash("w", word) for word in _words(name or "")}
    digits = re.sub(r"\D", "", phone or "")
    for tail in (digits, digits[-10:], digits[-7:], digits[-4:]):
        if len(tail) >= 4:
            terms.add(_hash("d", tail))
    return " ".join(sorted(terms))


def query_terms(query: str) -> List[str]:
    """The hashes a search for `query` must all find: its words, or its digits when it has 3 or more."""
    digits = re.sub(r"\D", "", query)
    if len(digits) >= 4:
        return [_hash("d", digits[-10:] if len(digits) > 10 else digits)]
    return [_hash("w", word) for word in _words(query)]


# The encrypted columns, by table: what the migration and the re-encrypt job go through.
ENCRYPTED = {
    "leads": ("name", "phone", "email", "preferred_time", "reason", "screening", "transcript"),
    "lead_notes": ("text",),
    "lead_status_changes": ("note",),
    "notifications": ("body",),
    "staff_accounts": ("mfa_secret",),  # from migration 0007 on
}
BATCH = 200


def reencrypt(connection: Any) -> int:
    """Rewrite every encrypted value not under the current key (or not yet encrypted) with it; rows changed.

    Works on a plain connection, so the migration that first encrypts the store runs it too.
    Rows are read in batches by id, each batch written in the caller's transaction.
    """
    from sqlalchemy import inspect, text

    ring, changed = keys.ring(), 0
    current = f"{PREFIX}:{ring.current}:"
    for table, wanted in ENCRYPTED.items():
        # A migration runs this before later ones add their columns: only those the database has yet.
        present = {column["name"] for column in inspect(connection).get_columns(table)}
        columns = tuple(column for column in wanted if column in present)
        if not columns:
            continue
        last = 0
        while True:
            rows = connection.execute(text(f"SELECT id, {', '.join(columns)} FROM {table} WHERE id > :last "
                                           f"ORDER BY id LIMIT {BATCH}"), {"last": last}).all()
            if not rows:
                break
            for row in rows:
                last = row[0]
                values = dict(zip(columns, row[1:]))
                if all(v is None or str(v).startswith(current) for v in values.values()):
                    continue
                plain = {c: None if v is None else ring.decrypt(v if isinstance(v, str) else json.dumps(v),
                                                                f"{table}.{c}") for c, v in values.items()}
                update = {c: None if v is None else ring.encrypt(v, f"{table}.{c}") for c, v in plain.items()}
                if table == "leads":
                    update["search"] = search_terms(plain["name"], plain["phone"])
                assignments = ", ".join(f"{c} = :{c}" for c in update)
                connection.execute(text(f"UPDATE {table} SET {assignments} WHERE id = :id"), {**update, "id": row[0]})
                changed += 1
    return changed


def rotate(path: Path) -> str:
    """Put a new data key first in the key file (new writes use it within seconds); returns its id."""
    ensure_key_file(path)
    line = new_key_line()
    old = path.read_text()
    temporary = path.with_name(path.name + ".new")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as out:
        out.write(line + "\n" + old)
    os.replace(temporary, path)  # atomic: a process reading it sees the old file or the new, never half
    keys.forget()
    return line.split(":", 1)[0]
