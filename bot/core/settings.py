"""One settings object, read from the environment and an optional `.env` file."""
from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import FrozenSet, Mapping, Optional, Tuple

from dotenv import load_dotenv

from bot.core.paths import DATA, ROOT


@dataclass(frozen=True)
class Settings:
    default_clinic: str
    clinics_file: Path
    topics_file: Path
    causes_file: Path
    triage_file: Path
    rasa_model: Path  # the trained model Rasa runs; its red-flag model answers when Rasa cannot
    log_level: str
    database_url: str
    database_timeout_seconds: float
    spool_file: Path
    run_dir: Path  # supervisord's pid file and socket (MEDIUS_RUN_DIR, as supervisord.conf reads it)
    lead_retention_days: int
    audit_retention_days: int
    inbox_base_url: str
    smtp_host: str
    smtp_port: int
    smtp_user: str
    smtp_password: str
    smtp_from: str
    smtp_security: str
    smtp_ca_file: Optional[Path]
    notify_max_attempts: int
    notify_backoff_seconds: float
    notify_timeout_seconds: float
    rasa_url: str
    chat_timeout_seconds: float
    chat_turns_per_assistant: int
    widget_timeout_ms: int
    chat_rate_limit: int
    chat_address_rate_limit: int
    chat_rate_window_seconds: float
    internal_token: str
    api_token: str
    trusted_proxies: str
    conversations_url: str
    conversation_retention_days: int
    inbox_session_minutes: int
    inbox_lockout_attempts: int
    inbox_lockout_minutes: int
    inbox_account_delay_seconds: float
    data_keys: str
    data_key_file: Path
    inbox_poll_seconds: float
    handoff_wait_seconds: float
    live_chat_idle_minutes: int
    live_chat_poll_seconds: float
    live_chat_max_waiting: int  # requests waiting in one clinic's queue; past it, the call-back is offered
    redis_url: str
    rasa_speedups: bool
    rasa_patches_off: FrozenSet[str]

    @property
    def rasa_urls(self) -> Tuple[str, ...]:
        """MEDIUS_RASA_URL holds one Rasa process's URL, or several separated by commas."""
        return tuple(url.strip().rstrip("/") for url in self.rasa_url.split(",") if url.strip())


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
        rasa_model=_project_path(env.get("MEDIUS_MODEL") or "models/medius.tar.gz"),
        log_level=(env.get("MEDIUS_LOG_LEVEL") or "INFO").strip().upper(),
        database_url=env.get("DATABASE_URL") or f"sqlite:///{ROOT / 'var' / 'medius.db'}",
        database_timeout_seconds=_number(env, "DATABASE_TIMEOUT_SECONDS", 5.0, float),
        spool_file=_project_path(env.get("MEDIUS_SPOOL_FILE") or "var/lead-spool.jsonl"),
        run_dir=_project_path(env.get("MEDIUS_RUN_DIR") or "var/run"),
        lead_retention_days=_number(env, "LEAD_RETENTION_DAYS", 365, int),
        # Six years: HIPAA's documentation period (45 CFR 164.316(b)(2)), the longest a US buyer asks for.
        audit_retention_days=_number(env, "AUDIT_RETENTION_DAYS", 2192, int),
        inbox_base_url=(env.get("STAFF_INBOX_BASE_URL") or "http://localhost:8000/inbox").rstrip("/"),
        smtp_host=env.get("SMTP_HOST", ""),
        smtp_port=_number(env, "SMTP_PORT", 587, int),
        smtp_user=env.get("SMTP_USER", ""),
        smtp_password=env.get("SMTP_PASSWORD", ""),
        smtp_from=env.get("SMTP_FROM") or "medius@localhost",
        smtp_security=_smtp_security(env),
        smtp_ca_file=_project_path(env["SMTP_CA_FILE"]) if env.get("SMTP_CA_FILE") else None,
        notify_max_attempts=_number(env, "NOTIFY_MAX_ATTEMPTS", 8, int),
        notify_backoff_seconds=_number(env, "NOTIFY_BACKOFF_SECONDS", 30.0, float),
        notify_timeout_seconds=_number(env, "NOTIFY_TIMEOUT_SECONDS", 10.0, float),
        rasa_url=(env.get("MEDIUS_RASA_URL") or "http://127.0.0.1:5005").strip(),
        chat_timeout_seconds=_number(env, "CHAT_TIMEOUT_SECONDS", 30.0, float),
        chat_turns_per_assistant=_number(env, "CHAT_TURNS_PER_ASSISTANT", 4, int),
        widget_timeout_ms=_number(env, "WIDGET_TIMEOUT_MS", 10000, int),
        chat_rate_limit=_number(env, "CHAT_RATE_LIMIT", 20, int),
        chat_address_rate_limit=_number(env, "CHAT_ADDRESS_RATE_LIMIT", 60, int),
        chat_rate_window_seconds=_number(env, "CHAT_RATE_WINDOW_SECONDS", 10.0, float),
        internal_token=env.get("MEDIUS_INTERNAL_TOKEN", "").strip(),
        api_token=env.get("MEDIUS_API_TOKEN", "").strip(),
        trusted_proxies=env.get("MEDIUS_TRUSTED_PROXIES", "").strip(),
        conversations_url=env.get("CONVERSATIONS_DATABASE_URL") or f"sqlite:///{ROOT / 'var' / 'conversations.db'}",
        conversation_retention_days=_number(env, "CONVERSATION_RETENTION_DAYS", 30, int),
        inbox_session_minutes=_number(env, "INBOX_SESSION_MINUTES", 480, int),
        inbox_lockout_attempts=_number(env, "INBOX_LOCKOUT_ATTEMPTS", 5, int),
        # Failed logins: free failures per email an hour (four times as many per address), then waits
        # doubling from a second, up to INBOX_LOCKOUT_MINUTES for an address and this for one email.
        inbox_lockout_minutes=_number(env, "INBOX_LOCKOUT_MINUTES", 15, int),
        inbox_account_delay_seconds=_number(env, "INBOX_ACCOUNT_DELAY_SECONDS", 60.0, float),
        # The keys that encrypt health data in the lead store (bot/store/crypto.py): in the environment, or a file.
        data_keys=env.get("MEDIUS_DATA_KEYS", "").strip(),
        data_key_file=_project_path(env.get("MEDIUS_DATA_KEY_FILE") or "var/data-keys"),
        inbox_poll_seconds=_number(env, "INBOX_POLL_SECONDS", 2.0, float),
        # Live chat: how long a visitor waits for a staff member to accept; how long a staff member
        # stays "Available for live chat" without using the inbox; how often a waiting reader checks the database.
        handoff_wait_seconds=_number(env, "HANDOFF_WAIT_SECONDS", 120.0, float),
        live_chat_idle_minutes=_number(env, "LIVE_CHAT_IDLE_MINUTES", 30, int),
        live_chat_poll_seconds=_number(env, "LIVE_CHAT_POLL_SECONDS", 0.5, float),
        live_chat_max_waiting=_number(env, "LIVE_CHAT_MAX_WAITING", 20, int),
        redis_url=env.get("REDIS_URL", "").strip(),
        rasa_speedups=(env.get("MEDIUS_RASA_SPEEDUPS") or "on").strip().lower() not in ("off", "0", "false", "no"),
        rasa_patches_off=frozenset(name.strip().lower()
                                   for name in (env.get("MEDIUS_RASA_PATCHES_OFF") or "").split(",") if name.strip()),
    )


SMTP_SECURITY = ("starttls", "tls", "none")


def _smtp_security(env: Mapping[str, str]) -> str:
    """How mail is encrypted: STARTTLS by default, implicit TLS on port 465, `none` only when asked for."""
    value = (env.get("SMTP_SECURITY") or "").strip().lower()
    if not value:
        return "tls" if (env.get("SMTP_PORT") or "").strip() == "465" else "starttls"
    if value not in SMTP_SECURITY:
        raise ValueError(f"SMTP_SECURITY: expected one of {', '.join(SMTP_SECURITY)}, got {value!r}")
    return value


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


def require_internal_token(settings: Settings) -> str:
    """The secret the web server, Rasa and the action server share; a process needing it will not start without."""
    if len(settings.internal_token) < 16:
        raise SystemExit("MEDIUS_INTERNAL_TOKEN must be set to a random secret of at least 16 characters "
                         "(`make run` makes one for each start).")
    return settings.internal_token


@lru_cache(maxsize=1)
def get_settings(env_file: Optional[Path] = None) -> Settings:
    """The process-wide settings; `.env` fills only variables not already set."""
    load_dotenv(env_file or ROOT / ".env", override=False)
    return settings_from(os.environ)
