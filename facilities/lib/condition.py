"""Condition grading in the style of CJJ 99-2017: a bridge condition index (BCI) from component
scores weighted by group, then a grade A-E. Pure functions, so the worked examples are tests."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

#: Footbridge weights by component group (deck system, superstructure, substructure).
FOOTBRIDGE_WEIGHTS: Mapping[str, float] = {
    "deck_system": 0.15,
    "superstructure": 0.45,
    "substructure": 0.40,
}
#: Score given to a component recorded only as "not OK" (an E-level condition).
NOT_OK_SCORE = 40.0
OK_SCORE = 100.0
#: Lower bound of each grade's BCI band.
GRADE_FLOORS = (("A", 90.0), ("B", 80.0), ("C", 66.0), ("D", 50.0))


def grade_for(bci: float) -> str:
    """A 90-100, B 80-90, C 66-80, D 50-66, E below 50 (a boundary belongs to the better grade)."""
    for grade, floor in GRADE_FLOORS:
        if bci >= floor:
            return grade
    return "E"


def bci(
    scores: Iterable[tuple[str, float]], weights: Mapping[str, float] = FOOTBRIDGE_WEIGHTS
) -> float | None:
    """Weighted mean of the groups' mean scores; groups with no score (or no weight) are left
    out and the remaining weights rescaled. None when nothing weighted was scored. Not rounded:
    the grade is read from the exact value (89.95 is a B), the display rounds."""
    by_group: dict[str, list[float]] = {}
    for group, score in scores:
        if group in weights:
            by_group.setdefault(group, []).append(max(0.0, min(100.0, score)))
    if not by_group:
        return None
    total_weight = sum(weights[g] for g in by_group)
    return sum(weights[g] * (sum(v) / len(v)) for g, v in by_group.items()) / total_weight


def final_grade(index: float | None, direct_control_defect: bool) -> str | None:
    """The grade from the index, capped at D when a direct-control defect was found."""
    if index is None:
        return "D" if direct_control_defect else None
    grade = grade_for(index)
    if direct_control_defect and grade in {"A", "B", "C"}:
        return "D"
    return grade


def grade_rank(grade: str) -> int:
    """A=0 ... E=4, for "C or better" comparisons."""
    return "ABCDE".index(grade)
