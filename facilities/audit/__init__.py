"""Audit: an append-only record of every change, who made it, when, and the values before and
after. Services write it inside the same transaction as the change, so there is no change
without its audit event and no event for a change that rolled back."""
