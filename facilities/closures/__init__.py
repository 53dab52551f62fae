"""Closures and public notices: a live, honest view of the repair for citizens.

A closure takes an asset (or part of it) out of use: planned -> active -> extended -> lifted, or
cancelled. Every promise of a reopening date is kept (extensions add one, never overwrite). The
public notice is a view over the closure, its asset and its linked tickets, never a second copy;
its timeline is made of notice updates that staff write or publish from drafts the system makes
when linked repair work moves. A closure is lifted only through the reopening gate: linked tickets
closed or accepted, a final passed acceptance inspection, grade C or better with no open
direct-control finding, and a supervisor's sign-off (an admin may override, in writing, audited).
"""
