"""The API's JSON parser: DRF's, refusing deeply nested JSON with a 400.

Its own module (not ``portal.lib.api``): DRF imports the parser classes named in
settings while ``rest_framework.views`` is still loading, so this must import
nothing that imports the views.
"""

from __future__ import annotations

import io
from typing import Any

from django.utils.translation import gettext as _
from rest_framework.exceptions import APIException, ParseError
from rest_framework.parsers import JSONParser

MAX_JSON_DEPTH = 32  # no endpoint reads more than a few levels
# The largest JSON any endpoint needs is a pasted exercise printout: 20,000
# characters, at most ~120 KB escaped. A 16 MB body cost a worker ~120 MB that
# Python's allocator never gave back.
MAX_JSON_BYTES = 256 * 1024


class JsonTooLarge(APIException):
    status_code = 413
    default_code = "json_too_large"


def json_depth(value: Any) -> int:
    """How deeply ``value`` (parsed JSON) nests lists and objects; iterative, so a
    deep value cannot exhaust the stack while it is measured."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, list):
            deepest = max(deepest, depth)
            stack.extend((child, depth + 1) for child in item)
    return deepest


class BoundedJSONParser(JSONParser):
    """DRF's JSON parser, answering 400 for JSON nested past ``MAX_JSON_DEPTH`` and
    413 for a body over ``MAX_JSON_BYTES`` (read no further than that).

    ``json.loads`` raises ``RecursionError`` (not ``ValueError``) on a 4 KB body of
    brackets, which DRF let through as a 500 on every JSON endpoint.
    """

    def parse(self, stream: Any, media_type: Any = None, parser_context: Any = None):
        body = stream.read(MAX_JSON_BYTES + 1)
        if len(body) > MAX_JSON_BYTES:
            raise JsonTooLarge(
                _("A JSON body may hold at most %(size)d KB.")
                % {"size": MAX_JSON_BYTES // 1024}
            )
        try:
            data = super().parse(io.BytesIO(body), media_type, parser_context)
        except RecursionError:
            too_deep = True
        else:
            too_deep = json_depth(data) > MAX_JSON_DEPTH
        if too_deep:
            raise ParseError(
                _("JSON nested more than %(depth)d levels deep is not accepted.")
                % {"depth": MAX_JSON_DEPTH}
            )
        return data
