"""Medius's changes to Rasa's internals in the Rasa process: which there are, which are on, installing them.

Each change is one module of this package with an `install()`, imported only when its switch is on
(MEDIUS_RASA_SPEEDUPS=off turns every one off, MEDIUS_RASA_PATCHES_OFF names some), and installed
only on the versions of Rasa and TensorFlow it was written and tested for: on any other, Rasa runs as
it comes. The rule policy's change is a subclass named in config.yml (bot/rasa/rule_policy.py), on
the same terms. What each saves: docs/performance.md.
"""
from __future__ import annotations

import importlib
import logging
import sys
from functools import lru_cache
from importlib import metadata
from typing import Dict, List, Optional

from bot.core.settings import Settings, get_settings

logger = logging.getLogger(__name__)

# Each patch's switch: the name of its module here, and what it changes.
PATCHES: Dict[str, str] = {
    "action_replies": "a custom action's reply checked by validators built once",
    "model_loading": "DIET and the ResponseSelector loaded without a training run",
    "action_sessions": "one kept session per action endpoint, bodies written by ujson",
    "graph_runner": "the model's graph run in order, without dask",
    "event_lookup": "each event name's class found once",
    "prediction_call": "a prediction calls its TensorFlow graph directly",
    "slot_copy": "slots copied without Python's generic reduce protocol",
    "features_cache": "a message's features combined once for DIET and the ResponseSelector",
    "domain_empty": "whether the domain is empty worked out once",
}
RULE_POLICY = "rule_policy"  # MediusRulePolicy's matching, each rule read once (bot/rasa/rule_policy.py)
SWITCHES = (*PATCHES, RULE_POLICY)

# The versions the changes were written and tested for; `x.y.*` is any release of x.y. rasa-sdk runs the
# action server whose keep-alive the kept sessions are timed against.
TESTED_WITH: Dict[str, str] = {"rasa": "3.6.21", "rasa-sdk": "3.6.2", "tensorflow": "2.12.*"}


def switched_on(settings: Optional[Settings] = None) -> List[str]:
    """The switches that are on: every one unless MEDIUS_RASA_SPEEDUPS=off, less MEDIUS_RASA_PATCHES_OFF's."""
    settings = settings or get_settings()
    unknown = sorted(settings.rasa_patches_off - set(SWITCHES))
    if unknown:  # a misspelt name would leave on what someone meant to turn off
        raise ValueError(f"MEDIUS_RASA_PATCHES_OFF: no patch named {', '.join(unknown)} "
                         f"(the patches: {', '.join(SWITCHES)})")
    if not settings.rasa_speedups:
        return []
    return [name for name in SWITCHES if name not in settings.rasa_patches_off]


def _installed_version(package: str) -> Optional[str]:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _fits(version: Optional[str], tested: str) -> bool:
    if version is None:
        return False
    return version.startswith(tested[:-1]) if tested.endswith(".*") else version == tested


@lru_cache(maxsize=1)
def versions_fit() -> bool:
    """Whether the installed Rasa, rasa-sdk and TensorFlow are those the patches were written for.

    Asked once per process: a mismatch logs one warning, and every patch stays off.
    """
    wrong = [f"{package} {version or 'not installed'} (written for {tested})"
             for package, tested in TESTED_WITH.items()
             for version in [_installed_version(package)] if not _fits(version, tested)]
    if wrong:
        logger.warning("Medius's patches to Rasa's internals are off, Rasa runs as it comes: they were written "
                       "and tested for other versions: %s. Check each against the new versions, then update "
                       "TESTED_WITH in bot/rasa/patches/__init__.py.", "; ".join(wrong))
    return not wrong


def is_on(name: str, settings: Optional[Settings] = None) -> bool:
    """Whether the change `name` is to run here: its switch is on and the versions fit."""
    return name in switched_on(settings) and versions_fit()


def install(settings: Optional[Settings] = None) -> List[str]:
    """Imports and installs each patch whose switch is on, if the versions fit; the names installed."""
    names = [name for name in switched_on(settings) if name in PATCHES]
    if not names or not versions_fit():
        return []
    for name in names:
        importlib.import_module(f"{__name__}.{name}").install()
    off = [name for name in PATCHES if name not in names]
    logger.info("Patches to Rasa's internals installed: %s%s", ", ".join(names),
                f" (off: {', '.join(off)})" if off else "")
    return names


async def close_sessions() -> None:
    """Closes the action server sessions kept by `action_sessions`, if it was installed (the server stopping)."""
    module = sys.modules.get(f"{__name__}.action_sessions")
    if module is not None:
        await module.close_sessions()
