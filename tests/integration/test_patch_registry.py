"""The patches to Rasa's internals are switched one by one, imported only when on, and only on tested versions."""
from __future__ import annotations

import importlib
import json
import logging
import os
import subprocess
import sys

import pytest

from bot.core.settings import settings_from
from bot.rasa import patches
from tests.conftest import MODEL, ROOT

# What each patch replaces: (module, class, attribute). A new patch needs its line here.
PATCHED = {
    "action_replies": ("rasa.core.actions.action", "RemoteAction", "_validate_action_result"),
    "model_loading": ("rasa.utils.tensorflow.models", "RasaModel", "load"),
    "action_sessions": ("rasa.utils.endpoints", "EndpointConfig", "session"),
    "graph_runner": ("rasa.engine.runner.dask", "DaskGraphRunner", "run"),
    "event_lookup": ("rasa.shared.core.events", "Event", "resolve_by_type"),
    "prediction_call": ("rasa.utils.tensorflow.models", "RasaModel", "_rasa_predict"),
    "slot_copy": ("rasa.shared.core.slots", "Slot", "__copy__"),
    "features_cache": ("rasa.shared.nlu.training_data.message", "Message", "get_all_features"),
    "domain_empty": ("rasa.shared.core.domain", "Domain", "is_empty"),
}
MISSING = object()


def owner(name: str) -> type:
    module, cls, _ = PATCHED[name]
    return getattr(importlib.import_module(module), cls)


def current(name: str) -> object:
    """What the class holds now under the patched attribute's name (its own, not inherited)."""
    return owner(name).__dict__.get(PATCHED[name][2], MISSING)


def changed() -> set:
    """The patches whose attribute is no longer Rasa's own."""
    return {name for name in PATCHED if current(name) is not RASAS[name]}


def patch_modules() -> set:
    return {module for module in sys.modules if module.startswith("bot.rasa.patches.")}


RASAS = {name: current(name) for name in PATCHED}  # Rasa's own, before any test here installs anything


@pytest.fixture
def stock_rasa(monkeypatch):
    """Rasa as it comes, and put back so after the test; no patch module imported yet; the versions asked anew."""
    for module in patch_modules():
        monkeypatch.delitem(sys.modules, module)  # put back afterwards
    patches.versions_fit.cache_clear()
    yield
    for name in PATCHED:
        cls, attribute = owner(name), PATCHED[name][2]
        if RASAS[name] is MISSING:
            if attribute in cls.__dict__:
                delattr(cls, attribute)
        else:
            setattr(cls, attribute, RASAS[name])
    patches.versions_fit.cache_clear()


def test_every_patch_is_known_here_by_what_it_replaces():
    assert set(PATCHED) == set(patches.PATCHES)
    assert set(patches.SWITCHES) == set(patches.PATCHES) | {patches.RULE_POLICY}
    assert all((ROOT / "bot" / "rasa" / "patches" / f"{name}.py").exists() for name in patches.PATCHES)


def test_every_patch_installs_what_it_replaces(stock_rasa):
    assert patches.install(settings_from({})) == list(patches.PATCHES)
    assert changed() == set(PATCHED)
    assert patch_modules() == {f"bot.rasa.patches.{name}" for name in patches.PATCHES}


@pytest.mark.parametrize("name", list(patches.PATCHES))
def test_a_patch_switched_off_alone_stays_off_and_unimported(name, stock_rasa):
    installed = patches.install(settings_from({"MEDIUS_RASA_PATCHES_OFF": f"{name}"}))
    assert installed == [other for other in patches.PATCHES if other != name]
    assert changed() == set(PATCHED) - {name}
    assert f"bot.rasa.patches.{name}" not in sys.modules
    assert patches.is_on(patches.RULE_POLICY, settings_from({"MEDIUS_RASA_PATCHES_OFF": name}))


def test_several_patches_and_the_rule_policy_switch_off_by_name(stock_rasa):
    settings = settings_from({"MEDIUS_RASA_PATCHES_OFF": " Graph_Runner, slot_copy,,rule_policy "})
    assert settings.rasa_patches_off == {"graph_runner", "slot_copy", "rule_policy"}
    assert set(patches.install(settings)) == set(patches.PATCHES) - {"graph_runner", "slot_copy"}
    assert changed() == set(PATCHED) - {"graph_runner", "slot_copy"}
    assert not patches.is_on(patches.RULE_POLICY, settings)
    assert patches.is_on("action_replies", settings)


def test_the_speedups_switch_off_turns_every_patch_off(stock_rasa):
    settings = settings_from({"MEDIUS_RASA_SPEEDUPS": "off"})
    assert patches.install(settings) == [] and changed() == set() and patch_modules() == set()
    assert not patches.is_on(patches.RULE_POLICY, settings)


def test_an_unknown_patch_name_is_a_clear_error(stock_rasa):
    with pytest.raises(ValueError, match="MEDIUS_RASA_PATCHES_OFF: no patch named graph_runer"):
        patches.install(settings_from({"MEDIUS_RASA_PATCHES_OFF": "graph_runer"}))
    assert changed() == set()


@pytest.mark.parametrize("package, version", [("rasa", "3.7.0"), ("rasa", "3.6.20"), ("rasa-sdk", "3.6.3"),
                                              ("tensorflow", "2.13.0"), ("tensorflow", None)])
def test_on_other_versions_no_patch_is_installed_and_one_warning_says_why(package, version, monkeypatch, caplog,
                                                                          stock_rasa):
    real = patches._installed_version
    monkeypatch.setattr(patches, "_installed_version", lambda name: version if name == package else real(name))
    with caplog.at_level(logging.WARNING, logger="bot.rasa.patches"):
        assert patches.install(settings_from({})) == []
        assert not patches.is_on(patches.RULE_POLICY, settings_from({}))
        assert patches.install(settings_from({})) == []  # a second start of the channel: no second warning
    warnings = [record for record in caplog.records if record.levelno >= logging.WARNING]
    assert len(warnings) == 1
    assert f"{package} {version or 'not installed'} (written for {patches.TESTED_WITH[package]})" in \
        warnings[0].getMessage()
    assert changed() == set() and patch_modules() == set()
    from rasa.core.actions.action import RemoteAction
    assert RemoteAction._validate_action_result.__module__ == "rasa.core.actions.action"  # Rasa's own


def test_the_installed_versions_are_those_tested_and_a_patch_release_of_tensorflow_fits(monkeypatch, caplog):
    patches.versions_fit.cache_clear()
    try:
        with caplog.at_level(logging.WARNING, logger="bot.rasa.patches"):
            assert patches.versions_fit()  # the project's pinned versions: if this fails, re-check the patches
        assert not caplog.records
    finally:
        patches.versions_fit.cache_clear()
    assert patches._fits("2.12.1", "2.12.*") and not patches._fits("2.1.0", "2.12.*")
    assert not patches._fits("3.6.210", "3.6.21") and not patches._fits(None, "3.6.21")


STOCK_START = r"""
import asyncio, json, sys
from rasa.core.agent import load_agent
from rasa.core.actions.action import RemoteAction
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from bot.rasa.channel import WidgetInput

WidgetInput().blueprint(lambda message: None)  # where `rasa run` installs the patches

async def main():
    agent = await load_agent(model_path=sys.argv[1])
    output = CollectingOutputChannel()
    await agent.handle_message(UserMessage("hello", output, "stock-visitor"))
    parsed = await agent.parse_message("hello")
    nodes = agent.processor.graph_runner._instantiated_nodes
    policy = next(node._component for name, node in nodes.items() if "RulePolicy" in name)
    return {"replies": output.messages, "intent": parsed["intent"]["name"],
            "policy": type(policy).__name__, "reads_rules_once": policy.reads_rules_once,
            "validate": RemoteAction._validate_action_result.__module__,
            "patch_modules": sorted(m for m in sys.modules if m.startswith("bot.rasa.patches."))}

print(json.dumps(asyncio.run(main())))
"""


def test_with_every_patch_off_rasa_starts_and_answers_without_importing_one():
    if not MODEL.exists():
        pytest.fail(f"{MODEL} is missing: run `make train`")
    env = {**os.environ, "MEDIUS_RASA_SPEEDUPS": "off", "TF_CPP_MIN_LOG_LEVEL": "2",
           "MEDIUS_INTERNAL_TOKEN": "registry-test-secret-0123456789abcdef"}
    result = subprocess.run([sys.executable, "-c", STOCK_START, str(MODEL)], cwd=ROOT, capture_output=True,
                            text=True, timeout=600, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    started = json.loads(result.stdout.strip().splitlines()[-1])
    assert started["intent"] == "greet" and started["replies"]
    assert started["policy"] == "MediusRulePolicy" and not started["reads_rules_once"]
    assert started["validate"] == "rasa.core.actions.action"
    assert started["patch_modules"] == []
