"""The README stays true: its configuration reference is the one generated from the code, its record examples
are valid records, and every command it shows parses and is run by a test or by CI."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest

from streamclust.cli import build_parser
from streamclust.config_reference import reference_markdown, replace_block
from streamclust.schema import CatalogEntry, ClusterEvent, LabelRecord

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"

REPLAY_TEST = "tests/kafka/test_replay.py::test_replay_relabels_the_topic_without_touching_the_live_worker"
BROKER_TEST = "tests/kafka/test_broker_cli.py::test_broker_starts_answers_and_stops"
SCALE_OUT_TEST = (
    "tests/kafka/test_scale_out.py::test_three_workers_share_one_model_and_survive_losing_the_trainer"
)

# Every command line in README's ```bash blocks -> the test (file::function) or CI step that runs it.
COVERED_BY = {
    "make demo": "tests/kafka/test_demo.py::test_make_demo_writes_the_report_and_leaves_nothing_running",
    "make test": ".ci/run",
    ".venv/bin/streamclust cluster posts.jsonl.gz --config configs/default.yaml --labels out/labels.jsonl "
    "--events out/events.jsonl --rejects out/rejects.jsonl": (
        "tests/io/test_file_mode.py::test_gzipped_jsonl_with_bad_lines"
    ),
    "cat posts.csv | .venv/bin/streamclust cluster - --format csv --labels out/labels.jsonl": (
        "tests/io/test_file_mode.py::test_csv_piped_through_standard_input"
    ),
    ".venv/bin/streamclust broker start --port 9092": BROKER_TEST,
    ".venv/bin/streamclust run --config configs/default.yaml": (
        "tests/kafka/test_exactly_once.py::test_ten_thousand_posts_give_ten_thousand_labels"
    ),
    ".venv/bin/streamclust run --config shared.yaml --instance-id w1": SCALE_OUT_TEST,
    ".venv/bin/streamclust run --config shared.yaml --instance-id w2": SCALE_OUT_TEST,
    ".venv/bin/streamclust produce posts.jsonl --rate 500": (
        "tests/kafka/test_cli.py::test_produce_sends_jsonl_and_csv_keyed_by_post_id"
    ),
    ".venv/bin/streamclust tail --topic labels --max 20": "tests/kafka/test_cli.py::test_tail_prints_records_and_stops",
    ".venv/bin/streamclust broker stop": BROKER_TEST,
    ".venv/bin/streamclust inspect --config configs/default.yaml": (
        "tests/kafka/test_inspect.py::test_inspect_lists_the_catalog_and_one_cluster_with_its_recent_posts"
    ),
    ".venv/bin/streamclust inspect --config configs/default.yaml --cluster 12": (
        "tests/kafka/test_inspect.py::test_inspect_lists_the_catalog_and_one_cluster_with_its_recent_posts"
    ),
    ".venv/bin/streamclust inspect --state-dir state/ --config configs/default.yaml --cluster 12 "
    "--labels out/labels.jsonl --posts posts.jsonl": (
        "tests/io/test_inspect_state_dir.py::test_inspect_reads_the_clusters_of_a_state_directory"
    ),
    ".venv/bin/streamclust report --timeline out/demo/timeline.jsonl --posts examples/data/banking77.jsonl.gz "
    "--out out/demo/report.html": (
        "tests/report/test_report.py::test_report_has_plots_clusters_with_examples_and_the_harness_scores"
    ),
    ".venv/bin/streamclust config reference --write README.md": (
        "tests/test_readme.py::test_the_configuration_reference_is_generated_from_the_code"
    ),
    ".venv/bin/streamclust eval banking77 --order emerging --json out/eval.json": (
        "tests/evaluate/test_eval_cli.py::test_eval_prints_a_table_and_writes_every_figure"
    ),
    ".venv/bin/streamclust bench core": "tests/test_bench_cli.py::test_bench_core_writes_its_figures",
    "streamclust replay --config my.yaml --from-beginning --output-topic post-labels-replay": REPLAY_TEST,
    "streamclust replay --config my.yaml --from-timestamp 2026-11-24T09:00:00Z "
    "--output-topic post-labels-since-nine": REPLAY_TEST,
    ".venv/bin/streamclust bench state": (
        "tests/state/test_bench_state.py::test_bench_state_measures_a_checkpoint_and_checks_it_restores"
    ),
}


def readme_commands() -> list[str]:
    """Command lines of the ```bash blocks: continuations joined, comments dropped."""
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.DOTALL):
        for line in block.replace("\\\n", " ").splitlines():
            command = " ".join(line.split("  #")[0].split())
            if command:
                commands.append(command)
    return commands


def test_the_configuration_reference_is_generated_from_the_code() -> None:
    text = README.read_text(encoding="utf-8")
    assert replace_block(text, reference_markdown()) == text, (
        "README's configuration reference is out of date: run .venv/bin/streamclust config reference --write README.md"
    )


def test_every_readme_command_is_run_by_a_test_or_by_ci() -> None:
    missing = [command for command in readme_commands() if command not in COVERED_BY]
    assert not missing, f"add these README commands to COVERED_BY with the test that runs them: {missing}"
    for target in set(COVERED_BY.values()):
        path, _, function = target.partition("::")
        source = (REPO / path).read_text(encoding="utf-8")
        assert not function or f"def {function}(" in source, f"{target} does not exist"


@pytest.mark.parametrize("command", [c for c in COVERED_BY if re.search(r"(^|/)streamclust ", c)])
def test_every_streamclust_command_in_the_readme_parses(command: str) -> None:
    words = shlex.split(command.split("|")[-1])
    assert words[0].endswith("streamclust")
    build_parser().parse_args(words[1:])  # exits with a usage error on an unknown command or option


def test_the_record_examples_are_valid_records() -> None:
    text = README.read_text(encoding="utf-8")
    examples = [json.loads(block) for block in re.findall(r"```json\n(.*?)\n```", text, flags=re.DOTALL)]
    kinds = [LabelRecord, ClusterEvent, CatalogEntry]
    assert len(examples) == len(kinds)
    for model, example in zip(kinds, examples, strict=True):
        assert model.model_validate(example).model_dump(mode="json", exclude_none=True) == {
            key: value for key, value in example.items() if value is not None
        }
