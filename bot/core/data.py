"""The project's data files, loaded and validated once per process."""
from __future__ import annotations

import hashlib
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

import yaml

from bot.core.causes import CauseFinder, load_cause_finder
from bot.core.clinics import ClinicDirectory, load_clinics
from bot.core.knowledge import Knowledge, load_knowledge
from bot.core.paths import DATA
from bot.core.settings import Settings, get_settings

ClinicSource = Callable[[Settings], ClinicDirectory]
_source: Optional[ClinicSource] = None


def read_clinics_from(source: Optional[ClinicSource]) -> None:
    """Where this process reads clinic profiles from: the database (bot.store.clinic_profiles, installed by each
    process's start-up), or with None the settings' clinics file. The core imports no database, so it is told."""
    global _source
    _source = source


def clinics_file(settings: Settings) -> ClinicDirectory:
    """The profiles in the settings' clinics file, parsed again only when its content changes (a file rewritten
    within the file system's clock tick keeps its modification time, so the content is what counts)."""
    path = settings.clinics_file
    try:
        content = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        content = ""  # load_clinics says what is wrong with it
    return _file_directory(path, settings.default_clinic, content)


@lru_cache(maxsize=8)
def _file_directory(path: Path, default_clinic: str, _content: str) -> ClinicDirectory:
    return ClinicDirectory(load_clinics(path), default_clinic)


def clinics_for(settings: Settings) -> ClinicDirectory:
    """The newest clinic profiles for these settings: the database's once it holds clinics, else the file's."""
    return _source(settings) if _source else clinics_file(settings)


def clinics() -> ClinicDirectory:
    """The newest clinic profiles for this process's settings: what actions, channel and notifier ask per turn."""
    return clinics_for(get_settings())


@lru_cache(maxsize=1)
def knowledge() -> Knowledge:
    return load_knowledge(get_settings().topics_file)


@lru_cache(maxsize=1)
def cause_finder() -> CauseFinder:
    return load_cause_finder(get_settings().causes_file)


def load_widget_texts(path: Path = DATA / "widget.yml") -> Dict[str, Any]:
    """The widget's fixed texts and starter quick replies; a missing one stops start-up."""
    texts = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("widget") or {}
    missing = {"disclaimer", "privacy_note", "unreachable", "emergency_heading", "emergency_call",
               "emergency_number", "starters"} - set(texts)
    if missing:
        raise ValueError(f"{path}: widget texts missing: {', '.join(sorted(missing))}")
    if not re.fullmatch(r"\+?\d{2,15}", str(texts["emergency_number"])):
        raise ValueError(f"{path}: emergency_number must be digits only, as dialled (like 911)")
    if not all(isinstance(b, dict) and b.get("title") and b.get("payload") for b in texts["starters"]):
        raise ValueError(f"{path}: every starter needs a title and a payload")
    return texts


@lru_cache(maxsize=1)
def widget_texts() -> Dict[str, Any]:
    return load_widget_texts()


def starter_payloads() -> frozenset:
    """The quick replies the widget offers under its greeting: buttons of the assistant's own."""
    return frozenset(str(b["payload"]) for b in widget_texts()["starters"])


def load_all() -> None:
    """Load every data file now, so a bad file stops start-up with a clear message."""
    clinics()
    knowledge()
    cause_finder()


def _safety_responses() -> Dict[str, Any]:
    return yaml.safe_load((DATA / "responses" / "safety.yml").read_text(encoding="utf-8"))["responses"]


def _for_topic(variants: List[Dict[str, Any]], topic: Optional[str]) -> Dict[str, Any]:
    """The variant whose red_flag_topic condition names the topic, else the one without a condition."""
    for variant in variants:
        if any(c.get("name") == "red_flag_topic" and c.get("value") == topic for c in variant.get("condition") or []):
            return variant
    return next(v for v in variants if not v.get("condition"))


@lru_cache(maxsize=32)
def emergency_response(topic: Optional[str] = None) -> Dict[str, Any]:
    """The emergency advice as the widget receives it from Rasa, worded for the topic: for when Rasa cannot
    answer."""
    response = _for_topic(_safety_responses()["utter_emergency"], topic)
    return {"text": response["text"], "custom": dict(response["custom"])}


@lru_cache(maxsize=32)
def advice_response(name: str, topic: Optional[str] = None) -> Dict[str, Any]:
    """Another safety response's text (utter_urgent, utter_confirm_red_flag) without its buttons, which
    only Rasa could answer: for when Rasa cannot answer."""
    response = _for_topic(_safety_responses()[name], topic)
    return {"text": response["text"], "custom": dict(response.get("custom") or {})}
