"""The trainer election: of the members of the trainer group exactly one is the trainer, and when it leaves
or dies, a survivor takes over."""

from __future__ import annotations

import time

import pytest
from kafka_support import Stream

from streamclust.config import load_settings
from streamclust.io.kafka.clients import connect_admin
from streamclust.io.kafka.shared_mode.election import TrainerElection
from streamclust.io.kafka.topics import ensure_topics, shared_mode_topics

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(120, func_only=True)]


def poll_until(members: list[TrainerElection], settled: int, timeout: float) -> list[bool]:
    """Poll every member until exactly ``settled`` of them hold the role (or the timeout); returns the roles."""
    deadline = time.monotonic() + timeout
    roles = [member.elected for member in members]
    while time.monotonic() < deadline:
        roles = [member.poll(timeout_ms=100) for member in members]
        if sum(roles) == settled:
            # stable for a few more polls: no second trainer appears
            for _ in range(5):
                roles = [member.poll(timeout_ms=100) for member in members]
            if sum(roles) == settled:
                return roles
    return roles


def test_one_of_two_members_is_trainer_and_the_other_takes_over(stream: Stream) -> None:
    kafka = load_settings(stream.config).kafka
    admin = connect_admin(kafka, give_up_after=30)
    try:
        ensure_topics(admin, kafka, extra=shared_mode_topics(kafka))
    finally:
        admin.close()
    changes: list[tuple[str, bool]] = []
    first = TrainerElection(kafka, "first", on_change=lambda elected: changes.append(("first", elected)))
    second = TrainerElection(kafka, "second", on_change=lambda elected: changes.append(("second", elected)))
    first.join(give_up_after=30)
    second.join(give_up_after=30)
    try:
        roles = poll_until([first, second], settled=1, timeout=60)
        assert sum(roles) == 1, f"roles {roles}, changes {changes}"
        trainer, survivor = (first, second) if roles[0] else (second, first)

        trainer.leave()
        assert not trainer.elected
        assert poll_until([survivor], settled=1, timeout=60) == [True], changes
        assert changes[-1] == (survivor.member, True)
    finally:
        first.leave()
        second.leave()
