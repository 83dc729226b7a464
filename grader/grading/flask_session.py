"""Read a Flask session cookie without its key, as untrusted data (the evaluator's side).

Flask signs its session cookie but does not encrypt it: the value is
itsdangerous's ``payload.timestamp.signature``, where the payload is the
session as JSON in URL-safe base64, zlib-compressed when that is shorter (a
leading ``.`` says so), and the JSON carries Flask's tags (``{" t": [...]}``
for a tuple, ``" b"`` bytes, ``" m"`` markup, ``" u"`` a UUID, ``" d"`` a date,
``" di"`` a dict whose key looks like a tag). Anyone may read it; only the key
can forge it. The app chose every byte, so reading it is bounded: the cookie's
length, what it inflates to (a zlib bomb stops at :data:`MAX_PAYLOAD`), the
JSON's nesting and size. It runs in the evaluator (evaluator_ops.py) under the
check's clock and imports only the standard library.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import zlib
from typing import Any

MAX_COOKIE = 8192  # characters of a cookie value read (browsers keep 4 KiB)
MAX_PAYLOAD = 64 << 10  # bytes of JSON the payload may inflate to
MAX_DEPTH = 32  # nesting levels of lists and objects
_BASE64 = re.compile(r"[A-Za-z0-9_-]+")
_TAGS = frozenset({" t", " b", " m", " u", " d", " di"})


class Unreadable(ValueError):
    """The value is not a Flask session this reader accepts; the message says why."""


def decode(value: str) -> dict[str, Any]:
    """The session in the cookie *value*, as plain data (tuples for Flask's tuples)."""
    if not isinstance(value, str):
        raise Unreadable("the cookie's value is not text")
    if len(value) > MAX_COOKIE:
        raise Unreadable(f"the cookie is {len(value)} characters long, more than the "
                         f"{MAX_COOKIE} read")
    compressed = value.startswith(".")
    payload = (value[1:] if compressed else value).split(".", 1)[0]
    if not _BASE64.fullmatch(payload):
        raise Unreadable("the cookie does not start with URL-safe base64 (is it a Flask "
                         "session cookie?)")
    try:
        raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    except (binascii.Error, ValueError) as e:
        raise Unreadable(f"the cookie's payload is not base64: {e}") from e
    if compressed:
        raw = _inflate(raw)
    if len(raw) > MAX_PAYLOAD:
        raise Unreadable(f"the session is {len(raw)} bytes, more than the {MAX_PAYLOAD} read")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise Unreadable("the session is not UTF-8 JSON") from e
    if _depth(text) > MAX_DEPTH:
        raise Unreadable(f"the session nests more than {MAX_DEPTH} levels deep")
    try:
        data = json.loads(text)
    except ValueError as e:  # not JSON, or an integer of too many digits
        raise Unreadable(f"the session is not JSON: {str(e)[:120]}") from e
    session = _untag(data)
    if not isinstance(session, dict):
        raise Unreadable(f"the session is a JSON {type(session).__name__}, not an object")
    return session


def _inflate(raw: bytes) -> bytes:
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(raw, MAX_PAYLOAD + 1)
    except zlib.error as e:
        raise Unreadable(f"the compressed session does not inflate: {e}") from e
    if len(out) > MAX_PAYLOAD or inflater.unconsumed_tail:
        raise Unreadable(f"the compressed session inflates past {MAX_PAYLOAD} bytes")
    if not inflater.eof:
        raise Unreadable("the compressed session is cut short")
    return out


def _depth(text: str) -> int:
    """The deepest nesting of [ and { outside strings; linear, so safe on any text."""
    deepest = level = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            level += 1
            deepest = max(deepest, level)
        elif char in "]}":
            level -= 1
    return deepest


def _untag(value: Any) -> Any:
    """Flask's tagged JSON as plain data; depth is bounded by the caller."""
    if isinstance(value, list):
        return [_untag(v) for v in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        ((key, inner),) = value.items()
        if key in _TAGS:
            return _tagged(key, inner)
    return {k: _untag(v) for k, v in value.items()}


def _tagged(tag: str, inner: Any) -> Any:
    if tag == " t" and isinstance(inner, list):
        return tuple(_untag(v) for v in inner)
    if tag == " b" and isinstance(inner, str):
        try:
            return base64.b64decode(inner, validate=True)
        except (binascii.Error, ValueError) as e:
            raise Unreadable(f"a bytes value in the session is not base64: {e}") from e
    if tag == " di" and isinstance(inner, dict) and len(inner) == 1:
        ((key, item),) = inner.items()
        return {key[:-2] if key.endswith("__") else key: _untag(item)}
    if tag in (" m", " u", " d") and isinstance(inner, str):
        return inner  # markup, a UUID's hex, an HTTP date: read as the text they are
    return {tag: _untag(inner)}  # not Flask's tag after all: keep it as it came
