"""Inspections: schedules that raise themselves, condition grades, findings that open tickets.

A schedule (asset + inspection type + RRULE, anchored fixed or floating) raises one inspection per
occurrence through the scheduler, exactly once (a unique key on schedule and occurrence). An
inspector records checklist answers, per-component condition and findings; finalising computes
the BCI and grade A-E (footbridge weights; a direct-control defect caps the grade at D), updates
the asset's current grade, opens tickets for urgent findings and evaluates the rules (shorter
intervals on grade D, a proposed closure on grade E), each firing logged.
"""
