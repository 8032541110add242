"""Clinic profiles in the database: imported from clinics.yml, exported to it, changed field by field, live.

A profile is kept as the JSON of its clinics.yml block and every write passes
the one check a profile gets (`bot.core.clinics.parse_clinic`), so the file,
an import and the inbox's settings page refuse the same values with the same
words. Every write moves the one-row settings version on in the same
transaction; each process compares it with the version it loaded, one small
query per `bot.core.data.clinics()` call, and rebuilds its profiles only when
it moved: a saved change reaches the web server, Rasa and the action server on
their next message, without a restart. While the database holds no profile
(version 0) the processes read the clinics file, as before this store.
"""
from __future__ import annotations

import json
import logging
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple
from urllib.parse import urlsplit

import yaml
from sqlalchemy import select, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from bot.core.clinics import ClinicDirectory, ClinicProfileError, parse_clinic, parse_clinics
from bot.core.data import clinics_file
from bot.core.settings import Settings
from bot.store import audit
from bot.store.db import engine_for, session_scope
from bot.store.models import ClinicProfile, SettingsVersion, utcnow

logger = logging.getLogger(__name__)

RETRY_AFTER_FAILURE_SECONDS = 10.0  # a database that is away is asked again after this; the last profiles serve
# The version is read at most this often per process: a chat turn asks for the profiles several times, and a
# saved change must still reach every process's next message within a second.
CHECK_EVERY_SECONDS = 0.5
_KEPT = 16  # directories kept per process: one per database a process reads (tests use many)
_loaded: "OrderedDict[Tuple[str, str, str], Tuple[int, ClinicDirectory]]" = OrderedDict()
_failed_until: Dict[str, float] = {}
_checked_at: Dict[Tuple[str, str, str], float] = {}
_lock = threading.Lock()


class _Unchanged(Exception):
    """Nothing to save: the transaction (and its version step) is rolled back."""


# --- reading: the directory every process asks for ---

def directory(settings: Settings) -> ClinicDirectory:
    """The newest profiles: the database's once it holds any, rebuilt only when the settings version moved; the
    clinics file's before that, without a database, or (with the last profiles read) while the database is away."""
    url = settings.database_url
    if not _database_exists(url):
        return clinics_file(settings)
    key = (url, str(settings.clinics_file), settings.default_clinic)
    loaded = _loaded.get(key)
    now = time.monotonic()
    if now < _failed_until.get(url, 0.0):
        return loaded[1] if loaded else clinics_file(settings)
    if loaded and now - _checked_at.get(key, -1e9) < CHECK_EVERY_SECONDS:
        return loaded[1]
    try:
        with engine_for(url).connect() as connection:
            version = connection.execute(select(SettingsVersion.version)).scalar() or 0
            if version == 0:
                return clinics_file(settings)
            if loaded and loaded[0] == version:
                _checked_at[key] = now
                return loaded[1]
            rows = connection.execute(select(ClinicProfile.id, ClinicProfile.profile)).all()
    except SQLAlchemyError as error:
        _failed_until[url] = time.monotonic() + RETRY_AFTER_FAILURE_SECONDS
        logger.warning("Clinic profiles not read from the database (%s); using the %s ones for %.0f s",
                       type(error).__name__, "last" if loaded else "file's", RETRY_AFTER_FAILURE_SECONDS)
        return loaded[1] if loaded else clinics_file(settings)
    built = ClinicDirectory(parse_clinics({"clinics": {row.id: json.loads(row.profile) for row in rows}},
                                          "the clinics table"), settings.default_clinic)
    with _lock:
        _loaded[key] = (version, built)
        _checked_at[key] = now
        _loaded.move_to_end(key)
        while len(_loaded) > _KEPT:
            _loaded.popitem(last=False)
    return built


def _database_exists(url: str) -> bool:
    """A SQLite file that is not there is no database yet: reading would create it (a unit test's default URL)."""
    parsed = make_url(url)
    if parsed.drivername.startswith("sqlite"):
        return bool(parsed.database and parsed.database != ":memory:" and Path(parsed.database).exists())
    return True


def version(settings: Settings) -> int:
    """The settings version: 0 until a profile is saved in the database."""
    with session_scope(settings.database_url) as session:
        return session.execute(select(SettingsVersion.version)).scalar() or 0


def profiles(settings: Settings) -> Dict[str, Dict[str, Any]]:
    """Every stored profile as clinics.yml holds it, by clinic id."""
    with session_scope(settings.database_url) as session:
        return {row.id: json.loads(row.profile)
                for row in session.execute(select(ClinicProfile).order_by(ClinicProfile.id)).scalars()}


def profile(settings: Settings, clinic_id: str) -> Optional[Dict[str, Any]]:
    """One clinic's stored profile, or None."""
    with session_scope(settings.database_url) as session:
        row = session.get(ClinicProfile, clinic_id)
        return json.loads(row.profile) if row else None


# --- import and export: clinics.yml's shape ---

def read_document(path: Path) -> Dict[str, Dict[str, Any]]:
    """The profiles of a clinics.yml file by clinic id, each validated; a bad one is a ClinicProfileError."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise ClinicProfileError(f"{path}: cannot read clinic profiles ({error})") from error
    parse_clinics(document, str(path))
    return {str(key): dict(value) for key, value in document["clinics"].items()}


def import_file(settings: Settings, path: Path, actor: str) -> Dict[str, int]:
    """Every clinic of the file saved, all or none: new ones added, changed fields recorded one by one.
    Clinics the file does not name stay as they are. {clinic id: fields changed (-1 for a new clinic)}."""
    found = read_document(path)
    counts: Dict[str, int] = {}
    with session_scope(settings.database_url) as session:
        _step_version(session)
        for clinic_id, raw in found.items():
            counts[clinic_id] = _write(session, settings, clinic_id, raw, actor, None, f"imported from {path.name}")
        if settings.default_clinic not in _stored_ids(session):
            raise ClinicProfileError(f"{path}: the default clinic {settings.default_clinic!r} (MEDIUS_DEFAULT_CLINIC) "
                                     f"is not among the profiles")
    _checked_at.clear()  # this process reads the new version at once; the others within CHECK_EVERY_SECONDS
    return counts


def seed_from_file(settings: Settings, actor: str) -> int:
    """The settings' clinics file imported when the database holds no clinic yet (first `make run`); how many."""
    with session_scope(settings.database_url) as session:
        if _stored_ids(session):
            return 0
    return len(import_file(settings, settings.clinics_file, actor))


def export_document(settings: Settings) -> str:
    """The profiles as a clinics.yml file: the database's, or the clinics file's while it holds none."""
    stored = profiles(settings)
    if not stored:
        stored = read_document(settings.clinics_file)
    return yaml.safe_dump({"clinics": stored}, sort_keys=False, allow_unicode=True, width=120)


# --- changing one clinic (the inbox's settings page) ---

def save(settings: Settings, clinic_id: str, changes: Mapping[str, Any], actor: str,
         address: Optional[str] = None) -> List[str]:
    """Fields of the clinic's profile replaced (a None removes one), checked as a whole and saved only if all of
    the profile passes; one audit entry per changed field. The fields changed ('staff.emails'), or a
    ClinicProfileError whose `field` names the first bad one; LookupError for a clinic not in the database."""
    changed: List[str] = []
    try:
        with session_scope(settings.database_url) as session:
            _step_version(session)  # first: the write lock, so two saves of one profile never interleave
            row = session.get(ClinicProfile, clinic_id)
            if row is None:
                raise LookupError(clinic_id)
            merged = {**json.loads(row.profile), **changes}
            merged = {key: value for key, value in merged.items() if value is not None}
            changed = _changed_fields(json.loads(row.profile), merged)
            if not changed:
                raise _Unchanged()
            _write(session, settings, clinic_id, merged, actor, address, None)
    except _Unchanged:
        return []
    _checked_at.clear()  # this process reads the new version at once; the others within CHECK_EVERY_SECONDS
    return changed


def history(settings: Settings, clinic_id: str, limit: int = 100) -> List[Dict[str, Any]]:
    """The clinic's profile changes, newest first: when, who, which field, old and new value."""
    rows: List[Dict[str, Any]] = []
    for action in (audit.CLINIC_CHANGE, audit.CLINIC_ADD):
        found, _ = audit.entries(settings, clinic_id, audit.AuditFilter(action=action), limit)
        rows.extend(found)
    rows.sort(key=lambda row: (row["at"], row["id"]), reverse=True)
    changes = []
    for row in rows[:limit]:
        try:
            detail = json.loads(row["detail"])
        except ValueError:
            detail = {"field": "", "note": row["detail"]}
        changes.append({"at": row["at"], "actor": row["actor"], "field": detail.get("field", ""),
                        "old": _shown(detail.get("old")), "new": _shown(detail.get("new")),
                        "note": detail.get("note", "")})
    return changes


SECRET_FIELDS = {"staff.webhook_url"}  # a Slack-style webhook address is its own secret


def _audited(field: str, value: Any) -> Any:
    """A field's value as the six-year audit log keeps it: a webhook as its scheme and host only, so rotating a
    leaked one does not leave it readable there."""
    if field in SECRET_FIELDS and value:
        parts = urlsplit(str(value))
        return f"{parts.scheme}://{parts.hostname}/… (hidden)"
    return value


def _shown(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, list):
        return ", ".join(str(item) for item in value) or "(none)"
    return str(value)


def _step_version(session: Session) -> None:
    session.execute(update(SettingsVersion).where(SettingsVersion.id == 1)
                    .values(version=SettingsVersion.version + 1))


def _stored_ids(session: Session) -> List[str]:
    return list(session.execute(select(ClinicProfile.id)).scalars())


def _flat(raw: Mapping[str, Any]) -> Dict[str, Any]:
    """A profile's fields, the staff block's as 'staff.emails' and 'staff.webhook_url'."""
    flat: Dict[str, Any] = {}
    for key, value in raw.items():
        if key == "staff" and isinstance(value, Mapping):
            flat.update({f"staff.{name}": inner for name, inner in value.items()})
        elif value is not None:
            flat[key] = value
    return {key: value for key, value in flat.items() if value not in (None, [], "")}


def _changed_fields(old: Mapping[str, Any], new: Mapping[str, Any]) -> List[str]:
    before, after = _flat(old), _flat(new)
    return sorted(key for key in set(before) | set(after) if before.get(key) != after.get(key))


def _write(session: Session, settings: Settings, clinic_id: str, raw: Dict[str, Any], actor: str,
           address: Optional[str], note: Optional[str]) -> int:
    """Validate and store one profile in this transaction, with its audit entries; fields changed, -1 if new."""
    parse_clinic(clinic_id, raw)
    row = session.get(ClinicProfile, clinic_id)
    text = json.dumps(raw, ensure_ascii=False)
    if row is None:
        session.add(ClinicProfile(id=clinic_id, profile=text, updated_at=utcnow(), updated_by=actor[:254]))
        audit.record(session, settings, audit.CLINIC_ADD, actor, clinic=clinic_id, address=address,
                     detail=json.dumps({"field": "", "note": note or "added"}))
        return -1
    old = json.loads(row.profile)
    fields = _changed_fields(old, raw)
    before, after = _flat(old), _flat(raw)
    for field in fields:
        audit.record(session, settings, audit.CLINIC_CHANGE, actor, clinic=clinic_id, address=address,
                     detail=json.dumps({"field": field, "old": _audited(field, before.get(field)),
                                        "new": _audited(field, after.get(field))}, ensure_ascii=False))
    if fields:
        row.profile, row.updated_at, row.updated_by = text, utcnow(), actor[:254]
    return len(fields)
