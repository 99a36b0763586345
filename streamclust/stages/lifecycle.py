"""The lifecycle stage: every ``LIFECYCLE_EVERY_POSTS`` posts, merge clusters that are one topic, retire those
nobody joined for long, and drop the smallest beyond the cap; announce clusters as they are confirmed and as
they grow; list ended clusters in the catalog.

The decisions are pure functions of the cluster table (``cluster/lifecycle.py``); this stage applies them,
writes the events, and keeps the size each cluster had when last announced (an ``updated`` event follows once
it has grown by ``UPDATE_EVENT_GROWTH``) and the newest ``ENDED_CLUSTERS_KEPT`` merged or retired clusters.
"""

from __future__ import annotations

import numpy as np

from streamclust.cluster.lifecycle import find_excess, find_merges, find_stale
from streamclust.config import LifecycleSettings
from streamclust.schema import CatalogEntry, ClusterEvent, EventKind
from streamclust.stages import Snapshot
from streamclust.stages.births import Births, Created
from streamclust.stages.clusters import Clusters

LIFECYCLE_EVERY_POSTS = 1_000
UPDATE_EVENT_GROWTH = 1.5  # an 'updated' event when a cluster has grown by this factor since the last one
ENDED_CLUSTERS_KEPT = 1_000


class Lifecycle:
    def __init__(self, settings: LifecycleSettings, provisional_ttl_posts: int | None = None) -> None:
        self.settings = settings
        self.provisional_ttl_posts = provisional_ttl_posts
        self.last_run = 0  # stream position of the last run
        # per announced cluster, its size in its last event: only to tell when the next 'updated' is due (the size
        # itself is the cluster table's counts)
        self.announced_size: dict[int, float] = {}
        self.ended: dict[int, CatalogEntry] = {}

    def announce(
        self, clusters: Clusters, created: list[Created], now: float, model_version: int
    ) -> list[ClusterEvent]:
        """``created`` events for newly confirmed clusters, listing the posts they had while provisional."""
        table = clusters.table
        rows = table.rows_of(np.array([cluster_id for cluster_id, _ in created], dtype=np.int64))
        for row, (cluster_id, _) in zip(rows.tolist(), created, strict=True):
            self.announced_size[cluster_id] = float(table.counts[row])
        return [
            clusters.event(EventKind.CREATED, int(row), now, model_version, member_post_ids=members)
            for row, (_, members) in zip(rows.tolist(), created, strict=True)
        ]

    def catalog(self, clusters: Clusters, model_version: int) -> list[CatalogEntry]:
        """The latest state of every active cluster, then recently merged or retired ones."""
        confirmed = np.flatnonzero(clusters.table.confirmed).tolist()
        active = [clusters.catalog_entry(row, "active", model_version) for row in confirmed]
        return active + list(self.ended.values())

    def run_if_due(
        self, clusters: Clusters, births: Births, position: int, now: float, model_version: int
    ) -> list[ClusterEvent]:
        if position - self.last_run < LIFECYCLE_EVERY_POSTS:
            return []
        self.last_run = position
        return self.run(clusters, births, position, now, model_version)

    def run(
        self, clusters: Clusters, births: Births, position: int, now: float, model_version: int
    ) -> list[ClusterEvent]:
        """Merge, retire and cap, then ``updated`` events for the clusters that grew."""
        table = clusters.table
        events = self.merge(clusters, births, now, model_version)
        stale = find_stale(table, position, self.settings.retire_after_posts, self.provisional_ttl_posts)
        events.extend(
            clusters.event(EventKind.RETIRED, row, now, model_version)
            for row in stale
            if table.confirmed[row]
        )
        self.end(clusters, births, stale, now, events, "retired", model_version)
        excess = find_excess(table, self.settings.max_clusters)
        events.extend(
            clusters.event(EventKind.RETIRED, row, now, model_version)
            for row in excess
            if table.confirmed[row]
        )
        self.end(clusters, births, excess, now, events, "retired", model_version)
        clusters.prune_profiles()
        for row in np.flatnonzero(table.confirmed).tolist():
            cluster_id = int(table.ids[row])
            if table.counts[row] >= UPDATE_EVENT_GROWTH * self.announced_size.get(cluster_id, 0.0):
                self.announced_size[cluster_id] = float(table.counts[row])
                events.append(clusters.event(EventKind.UPDATED, row, now, model_version))
        return events

    def merge(self, clusters: Clusters, births: Births, now: float, model_version: int) -> list[ClusterEvent]:
        """Merge the pairs of clusters that are one topic; a provisional one merged into a cluster passes its
        members on (and a merge that makes a cluster big enough confirms it)."""
        table = clusters.table
        events: list[ClusterEvent] = []
        merges = find_merges(table, *clusters.merge_candidates())
        for absorbed, survivor in merges:
            absorbed_id, survivor_id = int(table.ids[absorbed]), int(table.ids[survivor])
            survivor_was_confirmed = bool(table.confirmed[survivor])
            clusters.merge(absorbed, survivor)
            members = births.take(absorbed_id) or []
            if not survivor_was_confirmed:
                members = (births.take(survivor_id) or []) + members
                if table.confirmed[survivor]:  # confirmed by the merge: announce it now
                    self.announced_size[survivor_id] = float(table.counts[survivor])
                    events.append(
                        clusters.event(
                            EventKind.CREATED, survivor, now, model_version, member_post_ids=members
                        )
                    )
                else:
                    births.keep(survivor_id, members)
            events.append(
                clusters.event(EventKind.MERGED, absorbed, now, model_version, merged_into=survivor_id)
            )
        for _, survivor in merges:
            if table.confirmed[survivor]:
                events.append(clusters.event(EventKind.UPDATED, survivor, now, model_version))
                self.announced_size[int(table.ids[survivor])] = float(table.counts[survivor])
        absorbed_rows = np.array([absorbed for absorbed, _ in merges], dtype=np.int64)
        self.end(clusters, births, absorbed_rows, now, events, "merged", model_version)
        return events

    def end(
        self,
        clusters: Clusters,
        births: Births,
        rows: np.ndarray,
        now: float,
        events: list[ClusterEvent],
        status: str,
        model_version: int,
    ) -> None:
        """Remove the clusters of ``rows``; those ever announced go to the catalog of ended clusters."""
        if len(rows) == 0:
            return
        merged_into = {
            event.cluster_id: event.merged_into for event in events if event.kind == EventKind.MERGED
        }
        table = clusters.table
        for row in rows.tolist():
            cluster_id = int(table.ids[row])
            clusters.forget_keywords(cluster_id)
            self.announced_size.pop(cluster_id, None)
            if births.take(cluster_id) is not None and cluster_id not in merged_into:
                continue  # never announced, so never listed
            entry = clusters.catalog_entry(row, status, model_version).model_copy(
                update={"merged_into": merged_into.get(cluster_id)}
            )
            self.ended[cluster_id] = entry
        while len(self.ended) > ENDED_CLUSTERS_KEPT:
            self.ended.pop(next(iter(self.ended)))
        clusters.remove(rows)

    def snapshot(self) -> Snapshot:
        return {
            "last_run": self.last_run,
            "reported": {
                "cluster_ids": np.array(list(self.announced_size), dtype=np.int64),
                "sizes": np.array(list(self.announced_size.values()), dtype=np.float64),
            },
            "ended": [entry.model_dump(mode="json") for entry in self.ended.values()],
        }

    def restore(self, snapshot: Snapshot) -> None:
        self.last_run = int(snapshot["last_run"])
        reported = snapshot["reported"]
        self.announced_size = dict(
            zip(
                np.asarray(reported["cluster_ids"]).tolist(),
                np.asarray(reported["sizes"]).astype(float).tolist(),
                strict=True,
            )
        )
        ended = [CatalogEntry.model_validate(entry) for entry in snapshot["ended"]]
        self.ended = {entry.cluster_id: entry for entry in ended}
