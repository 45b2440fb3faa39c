"""One child against its cohort, with percentiles worked out by hand."""

from __future__ import annotations

import pandas as pd

from pace_dash.domain.comparison import compare_with_cohort
from pace_dash.domain.journeys import evaluate
from tests.domain.test_journeys import TODAY, journey
from tests.figures.sample import sample_rules


def cohort_events() -> pd.DataFrame:
    """Five children accommodated on 1 Jan 2024, first reviewed after 30, 40, 45, 50 and 60 days."""
    rows = []
    for child_id, days in enumerate((30, 40, 45, 50, 60), start=1):
        rows.append((child_id, "accommodated", "2024-01-01"))
        rows.append(
            (
                child_id,
                "lac_review",
                (pd.Timestamp("2024-01-01") + pd.Timedelta(days=days)).date().isoformat(),
            )
        )
    # Child 3 also has a recommendation after 200 days; nobody else has one yet.
    rows.append((3, "permanence_recommendation", "2024-07-19", "home"))
    return journey(*rows)


def test_child_in_the_middle_of_the_cohort_is_at_the_50th_percentile():
    rules = sample_rules()
    cohort = evaluate(cohort_events(), rules, TODAY)
    child = cohort[cohort["child_id"] == 3]
    compared = compare_with_cohort(child, cohort, rules).set_index("rule_key")
    # 45 days: two of five took less (30, 40), one the same (itself, half): 2.5 / 5 = 50%.
    assert compared.loc["first_review", "child_days"] == 45
    assert compared.loc["first_review", "cohort_median"] == 45
    assert compared.loc["first_review", "percentile"] == 50
    assert compared.loc["first_review", "cohort_n"] == 5
    # The recommendation (200 days) is the only one in the cohort.
    assert compared.loc["permanence_recommendation", "percentile"] == 50
    assert compared.loc["permanence_recommendation", "cohort_n"] == 1


def test_slowest_child_is_near_the_top_and_open_steps_are_left_out():
    rules = sample_rules()
    cohort = evaluate(cohort_events(), rules, TODAY)
    compared = compare_with_cohort(cohort[cohort["child_id"] == 5], cohort, rules)
    # 60 days: four took less, itself half: 4.5 / 5 = 90%. Its recommendation is still open.
    assert compared[["rule_key", "percentile"]].values.tolist() == [["first_review", 90]]
