"""Role homes: where each member of staff lands after logging in (``/staff``).

A bureau's staff do not start their day in the asset register: crew open their tickets due today,
inspectors their inspections of the week, supervisors what waits for their decision, an
administrator the system's health and a viewer the dashboards. Each home is read through the
domains' own services (their permission checks apply), as a few counts with short lists, so the
package sits above tickets, inspections, closures, reports and jobs and writes nothing.
"""
