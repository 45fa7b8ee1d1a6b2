"""The garbage collector while a dialer runs."""

import gc

import pytest

from reauto.runtime import FULL_EVERY, settled_gc

pytestmark = pytest.mark.unit


def test_the_collector_is_settled_while_dialing_and_put_back_after():
    before = gc.get_threshold()
    loaded = [object() for _ in range(10)]  # what start-up loaded: frozen, never walked again
    with settled_gc():
        assert gc.get_threshold() == (before[0], before[1], FULL_EVERY)
        assert gc.get_freeze_count() >= len(loaded)
        cycle: list = []
        cycle.append(cycle)  # a call's garbage cycle is still collected by the young generations
        del cycle
        assert gc.collect(0) + gc.collect(1) >= 1
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0


def test_the_collector_is_put_back_when_the_dialer_fails():
    before = gc.get_threshold()
    with pytest.raises(RuntimeError), settled_gc(full_every=50):
        assert gc.get_threshold()[2] == 50
        raise RuntimeError("the store went away")
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0
