"""One settings object, read from the environment and an optional `.env` file."""
from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Mapping, Optional

from dotenv import load_dotenv

from bot.paths import DATA, ROOT


@dataclass(frozen=True)
class Settings:
    default_clinic: str
    clinics_file: Path
    topics_file: Path
    causes_file: Path
    triage_file: Path
    log_level: str
    database_url: str
    spool_file: Path
    lead_retention_days: int
    inbox_base_url: str
    smtp_host: str
    smtp_port: int
    smtp_user: str
    smtp_password: str
    smtp_from: str
    smtp_starttls: bool
    notify_max_attempts: int
    notify_backoff_seconds: float
    notify_timeout_seconds: float
    chat_url: str
    widget_timeout_ms: int
    chat_rate_limit: int
    chat_rate_window_seconds: float


def _project_path(value: str) -> Path:
    """A path from the environment; relative ones are taken from the project root."""
    path = Path(value)
    return path if path.is_absolute() else ROOT / path


def settings_from(env: Mapping[str, str]) -> Settings:
    """Build settings from a mapping, so tests need not touch the process environment."""
    return Settings(
        default_clinic=env.get("MEDIUS_DEFAULT_CLINIC", "stl").strip() or "stl",
        clinics_file=_project_path(env.get("MEDIUS_CLINICS_FILE") or str(DATA / "clinics.yml")),
        topics_file=_project_path(env.get("MEDIUS_TOPICS_FILE") or str(DATA / "topics.yml")),
        causes_file=_project_path(env.get("MEDIUS_CAUSES_FILE") or str(DATA / "causes.yml")),
        triage_file=_project_path(env.get("MEDIUS_TRIAGE_FILE") or str(DATA / "triage.yml")),
        log_level=env.get("LOG_LEVEL", "INFO").upper(),
        database_url=env.get("DATABASE_URL") or f"sqlite:///{ROOT / 'var' / 'medius.db'}",
        spool_file=_project_path(env.get("MEDIUS_SPOOL_FILE") or "var/lead-spool.jsonl"),
        lead_retention_days=_number(env, "LEAD_RETENTION_DAYS", 365, int),
        inbox_base_url=(env.get("STAFF_INBOX_BASE_URL") or "http://localhost:8000/inbox").rstrip("/"),
        smtp_host=env.get("SMTP_HOST", ""),
        smtp_port=_number(env, "SMTP_PORT", 25, int),
        smtp_user=env.get("SMTP_USER", ""),
        smtp_password=env.get("SMTP_PASSWORD", ""),
        smtp_from=env.get("SMTP_FROM") or "medius@localhost",
        smtp_starttls=env.get("SMTP_STARTTLS", "false").strip().lower() in ("1", "true", "yes"),
        notify_max_attempts=_number(env, "NOTIFY_MAX_ATTEMPTS", 8, int),
        notify_backoff_seconds=_number(env, "NOTIFY_BACKOFF_SECONDS", 30.0, float),
        notify_timeout_seconds=_number(env, "NOTIFY_TIMEOUT_SECONDS", 10.0, float),
        chat_url=env.get("MEDIUS_CHAT_URL") or "http://localhost:5005/webhooks/widget/webhook",
        widget_timeout_ms=_number(env, "WIDGET_TIMEOUT_MS", 10000, int),
        chat_rate_limit=_number(env, "CHAT_RATE_LIMIT", 20, int),
        chat_rate_window_seconds=_number(env, "CHAT_RATE_WINDOW_SECONDS", 10.0, float),
    )


def _number(env: Mapping[str, str], name: str, default, kind):
    """A numeric setting; a value that is not a positive number is a clear start-up error."""
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise ValueError(f"{name}: expected a number, got {raw!r}") from None
    if value <= 0:
        raise ValueError(f"{name}: must be greater than 0, got {raw!r}")
    return value


@lru_cache(maxsize=1)
def get_settings(env_file: Optional[Path] = None) -> Settings:
    """The process-wide settings; `.env` fills only variables not already set."""
    load_dotenv(env_file or ROOT / ".env", override=False)
    return settings_from(os.environ)
