"""`streamclust cluster --timeline FILE` records the run as the demo does, so `streamclust report` works for
file mode too: the warm-up, every labelled post once, the rejected lines (also those of the warm-up), and the
clusters at the end."""

from __future__ import annotations

import json
import re
from pathlib import Path

from test_file_mode import CONFIG, synthetic_posts

from streamclust.cli import main
from streamclust.obs.timeline import read_timeline
from streamclust.report.series import online_labels


def test_a_file_run_writes_a_timeline_that_streamclust_report_turns_into_a_page(tmp_path: Path) -> None:
    posts = synthetic_posts(1000)
    source = tmp_path / "posts.jsonl"
    lines = [json.dumps(post) + "\n" for post in posts]
    lines.insert(10, "not json\n")  # rejected in the first batch, while the warm-up holds its posts
    source.write_text("".join(lines) + "not json\n")
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG.replace("warmup_posts: 120", "warmup_posts: 600"))  # over one batch
    timeline_path = tmp_path / "out" / "timeline.jsonl"

    code = main(
        ["cluster", str(source), "--config", str(config), "--labels", str(tmp_path / "labels.jsonl"),
         "--timeline", str(timeline_path), "--quiet"]
    )  # fmt: skip

    assert code == 0
    timeline = read_timeline(timeline_path)
    assert timeline.run["command"] == "cluster"
    assert timeline.held and timeline.held[0]["warmup_posts"] == 600  # the warm-up, before any label
    post_ids, _ = online_labels(timeline.batches)
    assert sorted(post_ids) == sorted(post["id"] for post in posts)
    assert sum(batch["deadlettered"] for batch in timeline.batches) == 2
    assert sum(line["consumed"] for line in [*timeline.held, *timeline.batches]) == len(posts) + 2
    assert timeline.catalogs

    out = tmp_path / "report.html"
    assert main(["report", "--timeline", str(timeline_path), "--posts", str(source), "--out", str(out)]) == 0
    html = out.read_text(encoding="utf-8")
    assert html.count("<svg") == 5
    assert re.search(r"1,000 posts labelled", html)
