"""Label records are written without pydantic on the hot path; they must decode to what pydantic would write."""

from __future__ import annotations

import json

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from streamclust.io.kafka.records import label_records
from streamclust.result import LabelBatch

post_ids = st.text(min_size=1, max_size=20)  # any unicode, quotes, backslashes and control characters
similarities = st.floats(width=32) | st.sampled_from([0.0, -0.0, 1e-7, 5e-6, 0.99999949, -1.0, 1.0])
processed_at = st.floats(allow_nan=False, allow_infinity=False) | st.just(1_764_000_000.123456)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(post_ids, st.integers(-1, 2**53), similarities, st.booleans()), min_size=1, max_size=20
    ),
    st.integers(0, 10_000),
    processed_at,
    st.none() | st.integers(0, 2**40),
)
def test_each_label_value_decodes_to_the_pydantic_record(
    rows: list[tuple[str, int, float, bool]], model_version: int, at: float, model_position: int | None
) -> None:
    labels = LabelBatch(
        post_ids=[row[0] for row in rows],
        cluster_ids=np.array([row[1] for row in rows], dtype=np.int64),
        similarities=np.array([row[2] for row in rows], dtype=np.float32),
        is_outlier=np.array([row[3] for row in rows], dtype=bool),
        model_version=model_version,
        processed_at=at,
        model_position=model_position,
    )

    written = list(label_records(labels))

    expected = [
        (record.post_id.encode(), record.model_dump_json(exclude_none=True)) for record in labels.records()
    ]
    assert [key for key, _ in written] == [key for key, _ in expected]
    for (_, value), (_, reference) in zip(written, expected, strict=True):
        decoded, wanted = json.loads(value), json.loads(reference)
        assert decoded == wanted
        assert list(decoded) == list(wanted)  # same fields in the same order


def test_a_plain_label_is_compact_json_with_the_contract_fields() -> None:
    labels = LabelBatch(["p1"], np.array([7]), np.array([0.5], dtype=np.float32), np.array([False]), 3, 12.5)

    [(key, value)] = list(label_records(labels))

    assert key == b"p1"
    assert value == (
        b'{"post_id":"p1","cluster_id":7,"similarity":0.5,"is_outlier":false,"model_version":3,"processed_at":12.5}'
    )
