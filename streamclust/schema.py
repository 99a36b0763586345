"""The wire contract: what streamclust reads (Post) and writes (LabelRecord, ClusterEvent, CatalogEntry).

These are the shapes downstream readers depend on; change them only by adding optional fields.
Cluster ids are stable integers: an id is never reused, it survives retrains and restarts, and ``-1`` means
"not (yet) in any cluster".
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

NOT_CLUSTERED = -1


class Post(BaseModel):
    """One text to cluster, after the user's field names have been mapped (see ``InputSettings``)."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(min_length=1)
    text: str
    timestamp: float | None = None
    source: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)


class LabelRecord(BaseModel):
    """The label given to one post at the time it was processed."""

    model_config = ConfigDict(frozen=True)

    post_id: str
    cluster_id: int = Field(description="stable cluster id; -1 while the post is in no cluster")
    similarity: float = Field(description="cosine similarity to the nearest centroid, in [-1, 1]")
    is_outlier: bool
    model_version: int
    processed_at: float = Field(description="unix seconds")
    model_position: int | None = Field(
        default=None,
        description="shared mode: posts the published model had learned from; with model_version it names "
        "the exact model that gave the label (absent in solo mode, where the model learns from every batch)",
    )


class EventKind(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    MERGED = "merged"
    RETIRED = "retired"


class ClusterEvent(BaseModel):
    """A change in the set of clusters."""

    model_config = ConfigDict(frozen=True)

    kind: EventKind
    cluster_id: int
    size: float = Field(description="decayed number of member posts")
    keywords: list[str] = Field(default_factory=list)
    member_post_ids: list[str] = Field(
        default_factory=list, description="for 'created': the buffered posts the cluster was born from"
    )
    merged_into: int | None = Field(default=None, description="for 'merged': the id that absorbed this one")
    model_version: int = 0
    at: float = Field(description="unix seconds")


class CatalogEntry(BaseModel):
    """The latest state of one cluster (the value of the compacted catalog topic, keyed by cluster id)."""

    model_config = ConfigDict(frozen=True)

    cluster_id: int
    status: str = Field(description="'active', 'merged' or 'retired'")
    size: float
    keywords: list[str]
    created_at: float
    last_seen_at: float
    merged_into: int | None = None
    model_version: int = 0
