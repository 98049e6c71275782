"""Which policy applies to which segment, and which cycle prior it uses there.

Clients without a segment are a segment of their own: the default policy judges them (and the
segments without a policy of their own), and their fitted model lives on the default policy, as a
segment's lives on the segment (``Segment.model_*``).
"""

from __future__ import annotations

from dataclasses import dataclass

from clients.models import Segment
from reactivation import rules
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


def default_policy() -> Policy:
    return policy_for_segments()[None]


@dataclass(frozen=True)
class CyclePrior:
    """The prior of the cycle formula in use for one segment, with both candidates shown."""

    prior_strength: float
    default_cycle: float
    source: str  # rules.PRIOR_FITTED or rules.PRIOR_TYPED
    fitted_strength: float | None
    fitted_cycle: float | None
    typed_strength: float
    typed_cycle: float
    pinned: bool  # the admin chose the typed values although a fit may exist


def cycle_prior(policy: Policy, model_holder: Segment | Policy | None) -> CyclePrior:
    """The prior ``policy`` uses for the clients whose fit ``model_holder`` holds (their segment,
    or the default policy for the clients without one; None: no fit)."""
    r = getattr(model_holder, "model_r", None)
    alpha = getattr(model_holder, "model_alpha", None)
    strength, cycle, source = rules.prior_in_use(
        pin=policy.cycle_prior,
        typed_strength=policy.prior_strength,
        typed_cycle=policy.default_cycle_days,
        model_r=r,
        model_alpha=alpha,
    )
    fitted = rules.prior_in_use(
        pin=rules.PRIOR_FITTED, typed_strength=0.0, typed_cycle=0.0, model_r=r, model_alpha=alpha
    )
    has_fit = fitted[2] == rules.PRIOR_FITTED
    return CyclePrior(
        prior_strength=strength,
        default_cycle=cycle,
        source=source,
        fitted_strength=fitted[0] if has_fit else None,
        fitted_cycle=fitted[1] if has_fit else None,
        typed_strength=float(policy.prior_strength),
        typed_cycle=float(policy.default_cycle_days),
        pinned=policy.cycle_prior == rules.PRIOR_TYPED,
    )


def cycle_priors() -> dict[int | None, CyclePrior]:
    """The prior in use per segment id (None: the clients without a segment)."""
    policies = policy_for_segments()
    priors = {None: cycle_prior(policies[None], policies[None])}
    for segment in Segment.objects.all():
        priors[segment.pk] = cycle_prior(policies.get(segment.pk) or policies[None], segment)
    return priors
