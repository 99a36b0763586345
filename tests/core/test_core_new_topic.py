"""Novelty end to end: a topic the stream has not seen before becomes a new cluster with its own id."""

from __future__ import annotations

from core_streams import majority, make_stream, run_stream, small_engine, topic_of

from streamclust.config import NoveltySettings
from streamclust.schema import EventKind

KNOWN = ["cards", "travel", "baking", "python"]


def test_a_new_topic_is_born_as_a_cluster_of_its_own_posts() -> None:
    known = make_stream(KNOWN, 400, seed=11)
    with_garden = make_stream([*KNOWN, "garden"], 300, seed=12, start=400)
    engine = small_engine(seed=1)

    before = run_stream(engine, known, flush=False)
    after = run_stream(engine, with_garden, flush=False)

    known_ids = {majority(before.cluster_of[p.id] for p in known if topic_of(p.id) == t)[0] for t in KNOWN}
    assert len(known_ids) == len(KNOWN) and -1 not in known_ids, "each known topic has a cluster of its own"

    created = [event for event in after.events if event.kind == EventKind.CREATED]
    assert len(created) == 1, [event.member_post_ids[:5] for event in created]
    birth = created[0]
    assert birth.cluster_id not in known_ids
    assert len(birth.member_post_ids) >= NoveltySettings().min_cluster_size
    members_from_garden = [topic_of(post_id) for post_id in birth.member_post_ids].count("garden")
    assert members_from_garden / len(birth.member_post_ids) >= 0.9
    assert {"soil", "compost", "seeds", "watering", "weeds"} & set(birth.keywords)
    assert birth.size == len(birth.member_post_ids)

    born_in = next(i for i, result in enumerate(after.results) if birth in result.events)
    later_garden = [
        cluster_id
        for result in after.results[born_in + 1 :]
        for post_id, cluster_id in zip(
            result.labels.post_ids, result.labels.cluster_ids.tolist(), strict=True
        )
        if topic_of(post_id) == "garden"
    ]
    assert len(later_garden) >= 40
    assert later_garden.count(birth.cluster_id) / len(later_garden) >= 0.95

    for topic in KNOWN:  # the known topics keep their clusters while the new one is born
        ids = [after.cluster_of[p.id] for p in with_garden if topic_of(p.id) == topic]
        assert (
            majority(ids)[0] == majority(before.cluster_of[p.id] for p in known if topic_of(p.id) == topic)[0]
        )
        assert majority(ids)[1] >= 0.95


def test_the_members_of_a_new_cluster_that_were_outliers_in_this_batch_get_its_id() -> None:
    """A created event names its members; those labelled in the same batch carry the new id."""
    engine = small_engine(seed=2)
    run_stream(engine, make_stream(KNOWN, 300, seed=13), flush=False)
    garden = make_stream(["garden"], 30, seed=14, start=300)

    result = engine.process(garden)

    created = [event for event in result.events if event.kind == EventKind.CREATED]
    assert len(created) == 1
    labels = dict(zip(result.labels.post_ids, result.labels.cluster_ids.tolist(), strict=True))
    for post_id in created[0].member_post_ids:
        assert labels[post_id] == created[0].cluster_id
    assert sum(cluster_id == created[0].cluster_id for cluster_id in labels.values()) >= 25
