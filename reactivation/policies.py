"""Which policy applies to which segment."""

from __future__ import annotations

from reactivation.models import Policy


def policy_for_segments() -> dict[int | None, Policy]:
    """Every policy by segment id; key None is the default policy (created by a migration)."""
    policies = {policy.segment_id: policy for policy in Policy.objects.select_related("segment")}
    if None not in policies:
        policies[None] = Policy.objects.create(segment=None)
    return policies


def policy_for(segment_id: int | None) -> Policy:
    policies = policy_for_segments()
    return policies.get(segment_id) or policies[None]
