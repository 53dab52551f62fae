"""Repair tickets (work orders): the repair work on an asset, from report to closure.

Lifecycle: new -> triaged -> scheduled -> in progress -> work complete -> accepted -> closed, with
the side states on hold (with a reason, resuming where it stopped), rejected, duplicate (pointing
at the original) and cancelled. Only the transitions in ``choices.TRANSITIONS`` exist; each is
guarded by role and by data and written to the audit trail, which is the ticket's timeline.
"Closed" is not "fixed": the closing reason says which (repaired, replaced, no action needed ...).
Priority P0-P3 sets the SLA due date from an editable policy table.
"""
