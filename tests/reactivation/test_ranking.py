"""The area under the ROC curve (Mann-Whitney with ties) on hand-computed examples."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from reactivation.ranking import roc_auc


def test_auc_counts_the_pairs_ordered_right():
    # Positives score 0.35 and 0.8, negatives 0.1 and 0.4: 3 of the 4 pairs are ordered right.
    assert roc_auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]) == pytest.approx(0.75)


def test_a_tie_between_a_positive_and_a_negative_counts_one_half():
    # Pairs (positive, negative): (2, 1) right, (2, 2) tie, (3, 1) right, (3, 2) right.
    assert roc_auc([1, 2, 2, 3], [0, 0, 1, 1]) == pytest.approx(3.5 / 4)
    assert roc_auc([5, 5, 5, 5], [0, 1, 0, 1]) == pytest.approx(0.5)


def test_perfect_reversed_and_undefined_rankings():
    assert roc_auc([1, 2, 3], [0, 1, 1]) == 1.0
    assert roc_auc([3, 2, 1], [0, 1, 1]) == 0.0
    assert roc_auc([1, 2], [1, 1]) is None  # no negatives: nothing to rank
    assert roc_auc([], []) is None


def test_scores_without_a_value_are_left_out():
    assert roc_auc([np.nan, 0.2, 0.9], [0, 0, 1]) == 1.0


@given(
    st.lists(
        st.tuples(st.integers(min_value=0, max_value=5), st.booleans()), min_size=2, max_size=30
    )
)
def test_auc_equals_the_pairwise_definition(pairs):
    scores = [p[0] for p in pairs]
    labels = [p[1] for p in pairs]
    positives = [s for s, y in pairs if y]
    negatives = [s for s, y in pairs if not y]
    auc = roc_auc(scores, labels)
    if not positives or not negatives:
        assert auc is None
        return
    wins = sum((p > n) + 0.5 * (p == n) for p in positives for n in negatives)
    assert auc == pytest.approx(wins / (len(positives) * len(negatives)))
