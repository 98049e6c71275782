"""How well a score ranks an outcome: the area under the ROC curve. No Django here.

The AUC is the probability that a client who had the outcome scores higher than one who did not,
ties counting one half: the Mann-Whitney U statistic over (positives x negatives), computed from
mid-ranks so that tied scores are handled exactly.
"""

from __future__ import annotations

import numpy as np


def roc_auc(scores, outcomes) -> float | None:
    """AUC of ``scores`` (higher: more likely) for the boolean ``outcomes``; None when one of the
    two groups is empty (nothing to rank). NaN scores are left out."""
    score = np.asarray(scores, dtype=np.float64)
    label = np.asarray(outcomes, dtype=bool)
    keep = ~np.isnan(score)
    score, label = score[keep], label[keep]
    positives = int(label.sum())
    negatives = int(label.size - positives)
    if positives == 0 or negatives == 0:
        return None
    order = np.argsort(score, kind="mergesort")
    ordered = score[order]
    # Mid-ranks (1-based): every member of a run of equal scores gets the run's mean rank.
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    ends = np.r_[starts[1:], ordered.size]
    mid = (starts + ends + 1) / 2.0
    ranks = np.empty(ordered.size, dtype=np.float64)
    ranks[order] = np.repeat(mid, ends - starts)
    u = ranks[label].sum() - positives * (positives + 1) / 2.0
    return float(u / (positives * negatives))
