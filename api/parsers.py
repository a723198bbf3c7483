"""The API's JSON parser: a body the server cannot parse is the client's error (400),
whatever the reason, never a 500."""

from __future__ import annotations

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


class SafeJSONParser(JSONParser):
    """DRF's JSON parser, also answering 400 to a body nested deeper than Python can
    decode (``RecursionError`` is not a ``ValueError``, so DRF lets it through as a 500)."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type=media_type, parser_context=parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - the body is nested too deeply.") from None
