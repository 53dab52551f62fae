"""Condition grading on worked examples: footbridge weights, grade boundaries, the D cap."""

from __future__ import annotations

import pytest

from facilities.lib import condition


def test_footbridge_weights_are_the_standards() -> None:
    assert dict(condition.FOOTBRIDGE_WEIGHTS) == {
        "deck_system": 0.15,
        "superstructure": 0.45,
        "substructure": 0.40,
    }
    assert sum(condition.FOOTBRIDGE_WEIGHTS.values()) == pytest.approx(1.0)


def test_worked_example_weighted_by_group() -> None:
    # deck 80, superstructure 90, substructure 70: 0.15*80 + 0.45*90 + 0.40*70 = 80.5 -> B
    scores = [("deck_system", 80), ("superstructure", 90), ("substructure", 70)]
    assert condition.bci(scores) == pytest.approx(80.5)
    assert condition.grade_for(80.5) == "B"


def test_worked_example_group_means_before_weights() -> None:
    # two cables (60 and 80: mean 70), deck 100, substructure 50:
    # 0.15*100 + 0.45*70 + 0.40*50 = 15 + 31.5 + 20 = 66.5 -> C
    scores = [
        ("superstructure", 60),
        ("superstructure", 80),
        ("deck_system", 100),
        ("substructure", 50),
    ]
    assert condition.bci(scores) == pytest.approx(66.5)
    assert condition.final_grade(66.5, direct_control_defect=False) == "C"


def test_missing_groups_are_left_out_and_the_weights_rescaled() -> None:
    # only deck (60) and superstructure (90): (0.15*60 + 0.45*90) / 0.60 = 82.5
    assert condition.bci([("deck_system", 60), ("superstructure", 90)]) == pytest.approx(82.5)


def test_ancillary_parts_do_not_count_and_nothing_weighted_means_no_index() -> None:
    assert condition.bci([("ancillary", 10), ("superstructure", 95)]) == pytest.approx(95.0)
    assert condition.bci([("ancillary", 10)]) is None
    assert condition.bci([]) is None


def test_scores_are_clamped_to_0_100() -> None:
    assert condition.bci([("deck_system", 150), ("superstructure", -20)]) == pytest.approx(
        (0.15 * 100 + 0.45 * 0) / 0.60, abs=0.05
    )


@pytest.mark.parametrize(
    ("index", "grade"),
    [
        (100, "A"),
        (90, "A"),  # a boundary belongs to the better grade
        (89.9, "B"),
        (89.95, "B"),
        (80, "B"),
        (79.9, "C"),
        (66, "C"),
        (65.9, "D"),
        (50, "D"),
        (49.9, "E"),
        (0, "E"),
    ],
)
def test_grade_boundaries_90_80_66_50(index: float, grade: str) -> None:
    assert condition.grade_for(index) == grade


@pytest.mark.parametrize(
    ("index", "expected"),
    [(95, "D"), (85, "D"), (70, "D"), (55, "D"), (40, "E"), (None, "D")],
)
def test_a_direct_control_defect_caps_the_grade_at_d(index: float | None, expected: str) -> None:
    assert condition.final_grade(index, direct_control_defect=True) == expected


def test_without_a_defect_the_grade_is_the_index_grade() -> None:
    assert condition.final_grade(95, direct_control_defect=False) == "A"
    assert condition.final_grade(None, direct_control_defect=False) is None


def test_grade_rank_orders_a_to_e() -> None:
    assert [condition.grade_rank(g) for g in "ABCDE"] == [0, 1, 2, 3, 4]
    assert condition.grade_rank("C") < condition.grade_rank("D")
