"""The public feeds of closure notices, one module per format: Atom (``atom``), iCalendar
(``ical``), GeoJSON (``geojson``), the WZDx work zone feed (``wzdx``) and CAP 1.2 alerts
(``cap``).

Each is a pure renderer: it takes the notice data the controller has already read (with the
site's base URL and ``now``) and returns the document's bytes, in the reader's language where
the format has one; no HTTP and no database. ``common`` holds what several of them write the
same way: stable identifiers, addresses, instants and the end of a closure window.
"""

from facilities.public.feeds import atom, cap, common, geojson, ical, wzdx

__all__ = ["atom", "cap", "common", "geojson", "ical", "wzdx"]
