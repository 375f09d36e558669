"""The API's one parser: a JSON object as people and programs send one, or a 400.

Every endpoint of the API reads its body through here, so what no endpoint can use is
refused once, at the door, for all of them: JSON nested deeper than any request needs
(Python's decoder would raise ``RecursionError`` on ``[[[[...`` a hundred thousand deep,
a 500), control characters no person types (PostgreSQL refuses a NUL outright), a body that
is not an object (every endpoint takes an object: a list or a number would reach code that
calls ``.get`` on it), and a body larger than Django's own limit for a form.
"""

import codecs
import json
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from grouport.text import UNPRINTABLE

# No request of ours nests more than three levels ({"answers": {"PHQ-9": {"1": 0}}}); the
# margin is for clients that wrap their bodies.
MAX_DEPTH = 8


class BadBody(ParseError):
    default_code = "parse_error"


def json_object_check(data: Any, *, max_depth: int = MAX_DEPTH) -> dict:
    """Return ``data`` if it is a JSON object within ``max_depth`` levels and holds no
    unprintable character in any key or string; raise ``BadBody`` otherwise."""
    if not isinstance(data, dict):
        raise BadBody(_("Send a JSON object."))
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > max_depth:
            raise BadBody(_("The JSON is nested too deeply."))
        if isinstance(node, dict):
            for key, value in node.items():
                if UNPRINTABLE.search(key):
                    raise BadBody(_("The request contains characters that are not allowed."))
                stack.append((value, depth + 1))
        elif isinstance(node, list):
            stack.extend((value, depth + 1) for value in node)
        elif isinstance(node, str) and UNPRINTABLE.search(node):
            raise BadBody(_("The request contains characters that are not allowed."))
    return data


class JSONObjectParser(JSONParser):
    """DRF's JSON parser, with the checks above."""

    def parse(self, stream, media_type=None, parser_context=None) -> dict:
        parser_context = parser_context or {}
        request = parser_context.get("request")
        length = request.META.get("CONTENT_LENGTH") if request is not None else None
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        try:
            too_long = limit is not None and length and int(length) > limit
        except ValueError:
            too_long = False
        if too_long:
            raise BadBody(_("The request body is too large."))
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        try:
            raw = stream.read(limit + 1 if limit is not None else -1) if stream is not None else b""
            if limit is not None and len(raw) > limit:
                raise BadBody(_("The request body is too large."))
            text = codecs.decode(raw, encoding)
            data = json.loads(text, parse_constant=_no_constant)
        except BadBody:
            raise
        except RecursionError:
            raise BadBody(_("The JSON is nested too deeply.")) from None
        except (ValueError, UnicodeDecodeError, LookupError) as exc:
            raise BadBody(_("The request body is not valid JSON.")) from exc
        return json_object_check(data)


def _no_constant(name: str) -> None:
    # NaN and Infinity are not JSON; Python's decoder accepts them unless told not to.
    raise ValueError(f"{name} is not JSON")
