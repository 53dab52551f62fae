"""Citizen problem reports (service requests): the web form and Open311 GeoReport v2.

A report names a facility (matched from a location or chosen), a category and a description,
with optional photos and contact (never public). Staff triage it into a repair ticket, merge it
into an existing ticket, or answer it; its public status follows the ticket. A report about a
facility that is already closed answers with the existing notice instead of a duplicate.
"""
