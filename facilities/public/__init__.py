"""Citizen-facing pages: no tables of their own, only views over the domains' public facts.
Nothing internal (staff names, costs, contacts, internal notes) may reach these pages."""
