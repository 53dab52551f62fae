"""A limit on how deeply a JSON request body nests, checked before it is decoded.

msgspec decodes nested arrays and objects recursively: ``[[[[...]]]]`` a few thousand levels
deep raises ``RecursionError`` (a 500) instead of a clean refusal. :func:`refuse_deep_json` is
the app's ``before_request`` hook: it runs after the guards and before Litestar reads a route's
``data`` parameter, and refuses a JSON body nested deeper than :data:`MAX_JSON_DEPTH` with a
400. An ordinary body costs two byte counts; only a body with more brackets than the limit is
scanned (strings removed, brackets summed), all in C, in time linear in its size.

A controller or route that sets its own ``before_request`` replaces this hook (Litestar keeps
the closest layer's); ``tests/test_json_depth.py`` checks that every JSON route still has it.
"""

from __future__ import annotations

import re
from array import array
from itertools import accumulate
from typing import Any

from litestar import Request
from litestar.enums import RequestEncodingType
from litestar.exceptions import ClientException

from facilities.i18n import gettext as _

#: The deepest nesting of arrays and objects a JSON request body may have (the API's deepest
#: real body, a GeoJSON polygon inside an object, is a handful of levels).
MAX_JSON_DEPTH = 32

# A JSON string, escapes honoured; an unterminated one runs to the end of the body (so every
# quote starts a match and the search never rescans: linear time, no backtracking).
_STRING = re.compile(rb'"[^"\\]*+(?:\\.[^"\\]*+)*+(?:"|\\?\Z)', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
# Opening brackets become +1 and closing ones -1 (0xff read as a signed byte).
_STEPS = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")


def json_depth(body: bytes) -> int:
    """How deeply ``body`` nests arrays and objects (brackets inside strings do not count)."""
    if b'"' in body:
        body = _STRING.sub(b"", body)
    steps = array("b", body.translate(_STEPS, _NOT_BRACKETS))
    return max(accumulate(steps), default=0)


def too_deep(body: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """True when ``body`` nests deeper than ``limit``; cheap when it has few brackets."""
    if body.count(b"[") + body.count(b"{") <= limit:
        return False
    return json_depth(body) > limit


def takes_json_body(handler: Any) -> bool:
    """The route decodes its request body as JSON: it declares ``data``, not as a form or
    MessagePack (Litestar then decodes the body as JSON whatever its Content-Type says)."""
    data = handler.parsed_fn_signature.parameters.get("data")
    if data is None:
        return False
    media_type = getattr(data.kwarg_definition, "media_type", RequestEncodingType.JSON)
    return media_type == RequestEncodingType.JSON


async def refuse_deep_json(request: Request[Any, Any, Any]) -> None:
    """``before_request`` hook: a 400 for a JSON body nested deeper than the limit."""
    if not takes_json_body(request.route_handler):
        return
    if too_deep(await request.body()):
        raise ClientException(
            detail=_(
                "The JSON sent is nested too deeply: at most %(limit)d levels of arrays and "
                "objects are accepted. Send flatter data."
            )
            % {"limit": MAX_JSON_DEPTH}
        )
