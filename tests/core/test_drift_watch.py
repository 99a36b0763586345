"""The drift detector watches the share of posts that no cluster takes: quiet while topics stay, one alarm when
they change, and a retrain only when ``encoder.retrain_on_drift`` asks for one."""

from __future__ import annotations

import numpy as np
from core_streams import make_stream, run_stream, small_engine

from streamclust.encode.retrain import DriftWatch


def misfit_flags(share: float, count: int, seed: int) -> list[float]:
    return (np.random.default_rng(seed).random(count) < share).astype(float).tolist()


def test_a_steady_share_of_misfits_raises_no_alarm() -> None:
    watch = DriftWatch("adwin", delta=0.002)

    alarms = [watch.update(flag) for flag in misfit_flags(0.02, 30_000, seed=1)]

    assert not any(alarms)


def test_a_jump_in_misfits_raises_one_alarm_soon_after_it() -> None:
    watch = DriftWatch("adwin", delta=0.002)
    before, after = misfit_flags(0.02, 5_000, seed=2), misfit_flags(0.4, 3_000, seed=3)

    assert not watch.update_many(before)
    alarms = np.flatnonzero([watch.update(flag) for flag in after])

    assert len(alarms) >= 1 and alarms[0] < 300  # found within a few hundred posts
    assert len(alarms) <= 2  # the detector starts afresh after an alarm: no run of repeats


def test_new_topics_are_a_drift_that_starts_a_retrain_only_when_asked() -> None:
    warm = make_stream(["cards", "travel", "baking"], 600, seed=4)
    shifted = make_stream(["python", "garden", "music"], 600, seed=5, start=600)
    for retrain_on_drift in (False, True):
        engine = small_engine(drift_detector="adwin", retrain_on_drift=retrain_on_drift)
        quiet = run_stream(engine, warm, flush=False)
        changed = run_stream(engine, shifted, flush=False)

        assert not any(result.stats.drift_detected for result in quiet.results[8:])
        assert any(result.stats.drift_detected for result in changed.results)
        started = any(result.stats.retrain_started for result in changed.results)
        assert started == retrain_on_drift
