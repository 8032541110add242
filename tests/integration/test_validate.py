"""`rasa data validate` passes, and warns only of what docs/testing.md explains."""
import re
import subprocess
import sys
from pathlib import Path

import yaml

from bot.core.paths import DATA, ROOT


def responses_named_outside_stories():
    """Responses that actions, the form or data files say, which the validator cannot see."""
    named = set()
    for path in (ROOT / "actions").glob("*.py"):
        # Plain names, and the group of names built at run time (f"utter_why/{slot}").
        named |= set(re.findall(r"\"(utter_[a-z_]+(?:/[a-z_]+)?)", path.read_text()))
    for path in (DATA / "causes.yml", DATA / "topics.yml"):
        named |= set(re.findall(r"\b(utter_[a-z_/]+)", path.read_text()))
    forms = yaml.safe_load((ROOT / "domain.yml").read_text())["forms"]
    for form in forms.values():
        named |= {f"utter_ask_{slot}" for slot in form["required_slots"]}
    named.add("utter_default")  # said by action_default_fallback
    # The validator names 'utter_x/y' responses by their group 'utter_x'.
    return named | {name.split("/")[0] for name in named} | {"utter_faq"}


def test_data_validates_with_only_explained_warnings():
    result = subprocess.run(
        [str(Path(sys.executable).with_name("rasa")), "data", "validate", "--fail-on-warnings"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    allowed = responses_named_outside_stories()
    unexplained = []
    for warning in re.findall(r"UserWarning: (.*?)(?:\n|$)", output):
        unused = re.match(r"The utterance '([^']+)' is not used in any story or rule\.", warning)
        if unused and unused.group(1) in allowed:
            continue
        if warning.startswith("The following duplicated intents have been found across multiple domain files: faq"):
            continue
        if warning.startswith("Slot auto-fill has been removed"):
            continue
        unexplained.append(warning)
    assert not unexplained, unexplained
