"""A clinic's saved setting reaches the real servers' next answer: no retraining, no restart."""
import dataclasses
import time

from bot.core.settings import settings_from
from bot.store import clinic_profiles as store
from tests.support.helpers import Visitor

QUESTION = "does my insurance cover it?"


def test_a_changed_insurance_answer_is_the_next_chat_answer_without_a_restart(assistant, lead_db, clinics_file):
    settings = dataclasses.replace(settings_from({}), database_url=lead_db, clinics_file=clinics_file)
    store.seed_from_file(settings, "test")  # as the first `make run` does; the same profiles as the file
    before = store.profile(settings, "stl")["insurance"]
    started = {name: {p.pid for p in assistant.processes(name)} for name in ("web", "rasa", "actions")}
    try:
        assert "in network" in Visitor(assistant, "stl").says(QUESTION)
        store.save(settings, "stl", {"insurance": "From this week we also bill Medicaid plans."}, "test admin")
        time.sleep(store.CHECK_EVERY_SECONDS)  # each process reads the version at most this often: within 1 s
        reply = Visitor(assistant, "stl").says(QUESTION)
        assert "also bill Medicaid plans" in reply and "in network" not in reply
        assert "receipt" in Visitor(assistant, "boston").says(QUESTION)  # the other clinic's answer stands
        assert {name: {p.pid for p in assistant.processes(name)} for name in started} == started  # no restart
    finally:
        store.save(settings, "stl", {"insurance": before}, "test admin")  # the session's servers are shared
