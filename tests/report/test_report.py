"""``streamclust report`` turns a run's timeline into one self-contained HTML page: plots, a cluster table with
example posts, and the evaluation scores when the posts' true labels are known."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import numpy as np
from run_support import record_run, write_posts

from streamclust.cli import main
from streamclust.evaluate.scores import score_labels
from streamclust.obs.timeline import read_timeline
from streamclust.report.series import online_labels


def test_the_timeline_holds_one_label_per_post_and_every_event(tmp_path: Path) -> None:
    posts = write_posts(tmp_path / "posts.jsonl", 600)
    engine = record_run(tmp_path / "timeline.jsonl", posts)

    timeline = read_timeline(tmp_path / "timeline.jsonl")
    post_ids, cluster_ids = online_labels(timeline.batches)
    assert sorted(post_ids) == sorted(post["id"] for post in posts)
    assert [engine.cluster_of(post["text"]) for post in posts] == [
        int(cluster_ids[post_ids.index(post["id"])]) for post in posts
    ]
    assert {event.cluster_id for event in timeline.events} == {entry.cluster_id for entry in engine.catalog()}
    assert timeline.catalogs and timeline.run["dataset"] == "banking77 sample"
    assert [held["held"] for held in timeline.held] == [50]  # the warm-up's first poll, before any label
    assert sum(batch["consumed"] for batch in timeline.batches) + 50 == len(posts)  # each read once


def test_report_has_plots_clusters_with_examples_and_the_harness_scores(
    tmp_path: Path, capsys: object
) -> None:
    posts = write_posts(tmp_path / "posts.jsonl", 600)
    engine = record_run(tmp_path / "timeline.jsonl", posts)
    out = tmp_path / "report.html"

    code = main(
        [
            "report",
            "--timeline",
            str(tmp_path / "timeline.jsonl"),
            "--posts",
            str(tmp_path / "posts.jsonl"),
            "--out",
            str(out),
        ]
    )

    assert code == 0
    html = out.read_text(encoding="utf-8")
    # sizes, lifecycle, reconstruction error, throughput and latency, outlier share and lag
    assert html.count("<svg") == 5
    assert "<script" not in html and not re.search(r"(src|href)=['\"]https?:", html)  # nothing fetched
    for entry in engine.catalog():
        assert f"#{entry.cluster_id}</td>" in html
    # example posts are texts of posts the engine put in that cluster
    rows = re.findall(r"<td class='num'>#(\d+)</td>.*?<ul class='examples'>(.*?)</ul>", html)
    texts = {post["text"]: engine.cluster_of(post["text"]) for post in posts}
    examples = [
        (int(cluster), text) for cluster, items in rows for text in re.findall(r"<li>(.*?)</li>", items)
    ]
    assert examples and all(texts[unescape(text)] == cluster for cluster, text in examples)
    # sizes are post counts; the catalog's decayed size is named as such
    counted = Counter(engine.cluster_of(post["text"]) for post in posts)
    shown = dict(
        re.findall(r"<td class='num'>#(\d+)</td><td[^>]*>\w+</td><td class='num'>([\d,]+)</td>", html)
    )
    assert {int(cluster): int(count.replace(",", "")) for cluster, count in shown.items()} == dict(counted)
    assert "decayed weight" in html and "Posts in the largest clusters" in html
    # the scores are the harness's scores of the online labels
    true = np.unique([post["label"] for post in posts], return_inverse=True)[1]
    predicted = np.array([engine.cluster_of(post["text"]) for post in posts])
    assert f"{score_labels(true, predicted).nmi:.3f}" in html
    assert "Scores against the true labels" in html


def test_report_without_posts_has_no_scores_and_names_posts_by_id(tmp_path: Path) -> None:
    posts = write_posts(tmp_path / "posts.jsonl", 300)
    record_run(tmp_path / "timeline.jsonl", posts)
    out = tmp_path / "report.html"

    assert main(["report", "--timeline", str(tmp_path / "timeline.jsonl"), "--out", str(out)]) == 0

    html = out.read_text(encoding="utf-8")
    assert "Scores against the true labels" not in html
    assert re.search(r"<li>post [^<]+</li>", html)


def test_a_file_that_is_not_a_timeline_is_refused_with_the_line_number(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "timeline.jsonl"
    bad.write_text('{"type": "run", "at": 1}\n{"type": "batch"\n', encoding="utf-8")

    assert main(["report", "--timeline", str(bad), "--out", str(tmp_path / "r.html")]) == 2

    assert "line 2: not a timeline record" in capsys.readouterr().err


def test_the_events_file_given_as_a_timeline_is_named_with_the_option_that_writes_one(
    tmp_path: Path, capsys
) -> None:
    events = tmp_path / "events.jsonl"
    events.write_text('{"kind": "created", "cluster_id": 3, "size": 9.0, "at": 1.0}\n', encoding="utf-8")

    assert main(["report", "--timeline", str(events), "--out", str(tmp_path / "r.html")]) == 2

    message = capsys.readouterr().err
    assert (
        "line 1: not a timeline record" in message and "it is a cluster event (the --events file)" in message
    )
    assert "`streamclust cluster FILE --timeline T` and `streamclust run --timeline T` write one" in message


def unescape(text: str) -> str:
    import html

    return html.unescape(text)


def test_every_cluster_in_the_sizes_plot_has_a_colour_of_its_own() -> None:
    from matplotlib.colors import to_hex

    from streamclust.report.figures import cluster_colours, cluster_sizes_figure
    from streamclust.report.series import SizeSeries

    twelve = SizeSeries(seconds=np.arange(3.0), cluster_ids=list(range(12)), sizes=np.ones((3, 12)))
    svg = cluster_sizes_figure(twelve)

    fills = set(re.findall(r"fill: (#[0-9a-f]{6})", svg))
    colours = {to_hex(colour) for colour in cluster_colours(12)}
    assert colours <= fills  # matplotlib's default cycle has 10 colours: #1 and #11 would share one
    assert len(colours) == 12


def test_the_module_examples_run() -> None:
    import doctest

    import streamclust.report.figures
    import streamclust.report.series

    for module in (streamclust.report.series, streamclust.report.figures):
        outcome = doctest.testmod(module)
        assert outcome.attempted > 0 and outcome.failed == 0
