"""Start-up objects frozen out of Python's garbage collection (bot/core/gc_freeze.py)."""
import gc

from bot.core.gc_freeze import freeze_startup_objects


def test_start_up_objects_are_kept_but_left_out_of_the_collectors_generations():
    before = gc.get_freeze_count()
    startup = [{"weights": list(range(20))} for _ in range(200_000)]  # a loaded model's worth of objects
    marker = startup[-1]
    garbage = [[]]
    garbage[0].append(garbage)  # a reference cycle: only a collection frees it
    del garbage
    try:
        assert any(obj is marker for obj in gc.get_objects())  # a full collection would walk it
        frozen = freeze_startup_objects("test")
        assert frozen >= before + 400_000 and gc.get_freeze_count() == frozen
        assert not any(obj is marker for obj in gc.get_objects())  # no collection walks it now
        assert marker["weights"][-1] == 19  # still there, still referenced
    finally:
        gc.unfreeze()
