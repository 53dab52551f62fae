"""facilities: open-source maintenance ticketing for public facilities.

Assets carry inspections, repair tickets and closures; staff manage them in a web UI and a
JSON API; citizens read closure notices that are a live view of the repair work.
"""

import os

# Piccolo finds its engine and apps through this module, wherever the process starts.
os.environ.setdefault("PICCOLO_CONF", "facilities.piccolo_conf")
