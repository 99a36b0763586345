"""`streamclust run` says what it does: the warm-up's progress, the first model, then posts/s and lag, at most
one line every few seconds; plain lines for a person at a terminal, JSON lines with the numbers as fields
for a log collector."""

from __future__ import annotations

import dataclasses
import doctest
import io
import json
import logging
from collections.abc import Callable

import pytest

import streamclust.obs.logs
import streamclust.obs.progress_log
from streamclust.obs.logs import JsonFormatter, PlainFormatter, chosen_format
from streamclust.obs.progress_log import ProgressLog
from streamclust.observer import HeldReport, WorkerReport

ReportFactory = Callable[..., WorkerReport]


def labelled_report(make_report: ReportFactory, **fields: object) -> WorkerReport:
    """A committed batch as the worker reports it: its labels in ``labels``."""
    report = make_report(**fields)
    assert report.result is not None
    return dataclasses.replace(report, labels=[report.result.labels])


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_run_says_warm_up_first_model_then_rate_and_lag_every_few_seconds(
    make_report: ReportFactory,
) -> None:
    clock, lines = Clock(), []
    progress = ProgressLog(every_seconds=5.0, clock=clock, say=lines.append)
    for tick in range(20):  # a poll every half second for 10 s: 20 polls of 100 posts
        clock.now = tick * 0.5
        progress.observe_held(HeldReport(consumed=100, held=100 * (tick + 1), warmup_posts=2000))
    clock.now = 10.0
    warm = {"model_version": 1, "active_clusters": 9}
    progress.observe_batch(
        labelled_report(make_report, similarities=[0.9] * 2000, outliers=[False] * 2000, stats=warm)
    )
    for tick in range(1, 61):  # then 3 posts every 0.1 s: 30 posts/s
        clock.now = 10.0 + tick * 0.1
        progress.observe_batch(
            labelled_report(
                make_report, lag={("posts", 0): 7, ("posts", 1): 5}, stats={"active_clusters": 12}
            )
        )

    assert lines == [
        "warming up: 100 of 2,000 posts held until the first model is trained",
        "warming up: 1,100 of 2,000 posts held until the first model is trained",
        "first model ready (version 1, 9 clusters): labelled the first 2,000 posts",
        "labelling 30 posts/s, lag 12 records, 12 clusters",
    ]


def test_a_warm_up_that_ends_inside_the_first_poll_still_says_the_first_model_is_ready(
    make_report: ReportFactory,
) -> None:
    lines: list[str] = []
    progress = ProgressLog(clock=Clock(), say=lines.append)
    warm = {"model_version": 1, "active_clusters": 6}

    progress.observe_batch(
        labelled_report(
            make_report, similarities=[0.9] * 500, outliers=[False] * 500, stats=warm, first_model=True
        )
    )

    assert lines == ["first model ready (version 1, 6 clusters): labelled the first 500 posts"]


def test_a_first_model_whose_batch_aborted_is_announced_when_it_commits(make_report: ReportFactory) -> None:
    lines: list[str] = []
    progress = ProgressLog(clock=Clock(), say=lines.append)
    warm = {"model_version": 1, "active_clusters": 6}

    progress.observe_batch(
        labelled_report(make_report, stats=warm, first_model=True, committed=False, aborted=True)
    )
    progress.observe_batch(labelled_report(make_report, stats=warm))  # read again: the model is not new to it

    assert lines == ["first model ready (version 1, 6 clusters): labelled the first 3 posts"]


def test_a_restored_worker_says_which_model_it_labels_with(make_report: ReportFactory) -> None:
    lines: list[str] = []
    progress = ProgressLog(clock=Clock(), say=lines.append)

    progress.observe_batch(labelled_report(make_report, stats={"model_version": 4, "active_clusters": 30}))

    assert lines == ["labelling with model version 4 (30 clusters)"]


def test_dead_letters_alone_are_not_progress_and_do_not_hide_the_clusters(make_report: ReportFactory) -> None:
    clock, lines = Clock(), []
    progress = ProgressLog(every_seconds=5.0, clock=clock, say=lines.append)
    dead_letters = WorkerReport(result=None, consumed=4, deadlettered={"not_json": 4}, lag={("posts", 0): 3})

    clock.now = 100.0  # a monotonic clock: any value
    progress.observe_batch(dead_letters)  # before any post: no model, no rate to tell
    clock.now = 101.0
    progress.observe_batch(labelled_report(make_report, stats={"model_version": 2, "active_clusters": 7}))
    clock.now = 106.0
    progress.observe_batch(dead_letters)  # the progress line falls on a batch without an engine result

    assert lines == [
        "labelling with model version 2 (7 clusters)",
        "labelling 0 posts/s, lag 3 records, 7 clusters",
    ]


def test_an_aborted_batch_is_not_progress(make_report: ReportFactory) -> None:
    lines: list[str] = []
    progress = ProgressLog(clock=Clock(), say=lines.append)

    progress.observe_batch(labelled_report(make_report, committed=False, aborted=True))

    assert lines == []


def progress_record() -> logging.LogRecord:
    captured: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            captured.append(record)

    logger = logging.getLogger("streamclust.progress")
    handler, level, propagate = Keep(), logger.level, logger.propagate
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        ProgressLog().observe_held(HeldReport(consumed=12, held=812, warmup_posts=2000, lag={("p", 0): 3}))
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        logger.propagate = propagate
    (record,) = captured
    return record


def test_a_json_line_carries_the_numbers_as_fields() -> None:
    line = json.loads(JsonFormatter().format(progress_record()))

    assert line["msg"] == "warming up: 812 of 2,000 posts held until the first model is trained"
    assert (line["held"], line["warmup_posts"], line["lag"], line["level"]) == (812, 2000, 3, "info")


def test_a_plain_line_is_the_sentence_alone() -> None:
    line = PlainFormatter().format(progress_record())

    assert line.endswith(" warming up: 812 of 2,000 posts held until the first model is trained")
    assert "held=" not in line and "info" not in line


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("setting", "stream", "chosen"),
    [("auto", Terminal(), "plain"), ("auto", io.StringIO(), "json"), ("json", Terminal(), "json")],
)
def test_auto_is_plain_on_a_terminal_and_json_otherwise(
    setting: str, stream: io.StringIO, chosen: str
) -> None:
    assert chosen_format(setting, stream) == chosen


@pytest.mark.parametrize("module", [streamclust.obs.progress_log, streamclust.obs.logs])
def test_the_module_examples_run(module: object) -> None:
    outcome = doctest.testmod(module)
    assert outcome.attempted > 0 and outcome.failed == 0
