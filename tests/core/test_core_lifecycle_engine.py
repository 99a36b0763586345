"""Lifecycle end to end: the cluster cap retires the smallest cluster, and a retired id is never reused."""

from __future__ import annotations

from core_streams import Run, majority, make_stream, run_stream, small_engine, topic_of

from streamclust.config import LifecycleSettings
from streamclust.schema import EventKind


def gone_topic(run: Run, cluster_id: int) -> str:
    """The topic whose posts a cluster held."""
    members = [post_id for post_id, owner in run.cluster_of.items() if owner == cluster_id]
    return majority(topic_of(post_id) for post_id in members)[0]


def test_the_cluster_cap_retires_the_smallest_cluster_and_its_id_is_not_reused() -> None:
    posts = make_stream(["cards", "travel", "baking", "python"], 1_100, seed=41)
    engine = small_engine(seed=1, lifecycle=LifecycleSettings(max_clusters=3))

    run = run_stream(engine, posts, batch_size=50)

    events = run.events
    created = [event for event in events if event.kind == EventKind.CREATED]
    retired = [event for event in events if event.kind == EventKind.RETIRED]
    assert len(retired) == 1
    gone = retired[0]
    sizes_when_retired = {
        event.cluster_id: event.size
        for result in run.results
        if gone in result.events
        for event in result.events
        if event.kind == EventKind.UPDATED
    }
    assert len(sizes_when_retired) == 3, "the three clusters that stay are reported with their sizes"
    assert all(gone.size <= size for size in sizes_when_retired.values())

    ids = [event.cluster_id for event in created]
    assert ids == sorted(set(ids)), "ids are handed out in increasing order, each once"
    retired_in = next(i for i, result in enumerate(run.results) if gone in result.events)
    reborn = [e for r in run.results[retired_in:] for e in r.events if e.kind == EventKind.CREATED]
    assert reborn, "the retired topic's posts come back as a new cluster"
    assert all(event.cluster_id > gone.cluster_id for event in reborn)
    assert {topic_of(post_id) for post_id in reborn[0].member_post_ids} == {gone_topic(run, gone.cluster_id)}

    catalog = {entry.cluster_id: entry for entry in engine.catalog()}
    assert catalog[gone.cluster_id].status == "retired"
    assert all(catalog[cluster_id].status == "active" for cluster_id in sizes_when_retired)
    assert sum(entry.status == "active" for entry in catalog.values()) == len(engine.clusters)
