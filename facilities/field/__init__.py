"""The offline field app (issue 18): an installable web app (manifest and service worker under
``/field``) for inspectors and crew on a bridge deck with a weak signal.

While online it keeps, in the browser's IndexedDB, what the person has to do: their due and
overdue inspections (asset facts, checklist, components, the asset's last inspection) and the
tickets assigned to them or their team. Offline they record inspections, take photos and
complete tickets; each action waits in a queue and is sent, in order and with its own
``Idempotency-Key``, through the existing API when the signal returns (``static/js/field*.js``).

No tables of its own: it reads the inspections, tickets and assets through their services, with
the same assignment rules the pages apply. It sits above those domains in the layers.
"""
