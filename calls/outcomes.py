"""The outcome a call counts as in the funnel and the managers' figures.

A call made through the phone system has the phone system's own result beside the outcome the
manager typed (``phone_call``: the reverse relation from ``reactivation.telephony.PhoneCall``).
Where the two contradict, the phone system's word counts: it saw the call; the typed outcome
stays on the call and the case page shows the contradiction.
"""

from __future__ import annotations

from django.db.models import Case, CharField, F, Value, When

# Typed outcomes that say the client was reached (a call-back and a refusal are asked for by a
# client on the line).
REACHED_LIKE = ("reached", "call_back", "do_not_call")
NOT_ANSWERED = ("no_answer", "failed", "cancelled")


def counted_outcome(prefix: str = "") -> Case:
    """A call's outcome with the phone system's word taking the place of a typed one that
    contradicts it, as an expression over ``calls.Call`` (``prefix`` reaches it through a
    relation, e.g. ``"calls__"`` from a case):

    - answered by the phone system, typed no answer or busy: reached;
    - busy by the phone system, typed as reached: busy;
    - never answered by the phone system, typed as reached: no answer;
    - otherwise the typed outcome (also where the phone system did not carry the call)."""
    result, outcome = f"{prefix}phone_call__result", f"{prefix}outcome"
    return Case(
        When(
            **{result: "answered", f"{outcome}__in": ("no_answer", "busy")}, then=Value("reached")
        ),
        When(**{result: "busy", f"{outcome}__in": REACHED_LIKE}, then=Value("busy")),
        When(
            **{f"{result}__in": NOT_ANSWERED, f"{outcome}__in": REACHED_LIKE},
            then=Value("no_answer"),
        ),
        default=F(outcome),
        output_field=CharField(),
    )
