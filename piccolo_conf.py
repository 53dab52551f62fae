"""For the ``piccolo`` command run from the project root (e.g. ``piccolo migrations new assets
--auto``): the configuration itself lives in ``facilities/piccolo_conf.py``."""

from facilities.piccolo_conf import APP_REGISTRY, DB

__all__ = ["APP_REGISTRY", "DB"]
