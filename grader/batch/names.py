"""A student's name, as found in a class folder: the folder for the results, and how to show it.

The name is whatever the upload was called, so it is hostile data: it may be
``..``, hold a newline, a slash-like character, a carriage return followed by
``=cmd``, 250 bytes of UTF-8, or differ from another student's name only by
case or by Unicode normalisation. Two rules follow.

* :func:`slug_for` maps a name to one path component under ``students/``, and
  the mapping is injective on every file system: a name that is already a
  plain lowercase ASCII name (``alice``, ``bob-2``, ``carol_x``) is kept; any
  other name becomes a readable ASCII prefix, ``~``, and 16 hex digits of the
  sha256 of its exact code points. A plain name never holds ``~``, a hashed one
  always does, and hashes are lowercase, so neither case-folding nor Unicode
  normalisation can make two slugs one. The slug depends on the name only, so
  a rerun finds the same folder.
* :func:`shown` makes any text from a name safe to print on one line: control
  characters (newline, carriage return, escape, ...), Unicode line separators
  and bidirectional overrides are shown escaped.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

from grader.common.text import safe_text
from grader.reports.gradebook import SLUG

PLAIN = re.compile(r"[a-z0-9_][a-z0-9._-]{0,63}")  # names kept as they are
PREFIX = 40  # characters of a hashed slug's readable prefix
HASH = 16  # hex digits of the name's sha256 in a hashed slug
NAME_LIMIT = 200  # characters of a name shown
# C0 and C1 controls (tab, newline and carriage return too), line and paragraph
# separators, and the bidirectional controls that reorder what a reader sees.
UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\u200e\u200f]")


def slug_for(name: str) -> str:
    """The one folder name (under ``students/``) that holds *name*'s results."""
    if PLAIN.fullmatch(name):
        return name
    # surrogatepass encodes every str, lone surrogates too, and is injective.
    digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:HASH]
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    prefix = re.sub(r"[^A-Za-z0-9_-]+", "_", ascii_name).strip("_-")[:PREFIX]
    slug = f"{prefix or 'student'}~{digest}"
    assert SLUG.fullmatch(slug), slug
    return slug


def shown(text: str, limit: int = NAME_LIMIT) -> str:
    """*text* (a name, or a message holding one) safe to show on one line."""
    text = safe_text(unicodedata.normalize("NFC", text), limit)
    return UNSAFE.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100
                      else f"\\u{ord(m.group()):04x}", text)


def display_names(names: list[str], slugs: list[str]) -> list[str]:
    """How each of *names* is shown: :func:`shown`, made unique with its slug if need be.

    Two names may look the same once shown (NFC and NFD, a newline and a
    written ``\\x0a``, clipped at the same place); each such name gets its slug,
    which is unique, appended as `` [slug]``.
    """
    shown_names = [shown(n) for n in names]
    tagged = [False] * len(names)
    while True:
        seen: dict[str, int] = {}
        for s in shown_names:
            seen[s] = seen.get(s, 0) + 1
        clashing = [i for i, s in enumerate(shown_names) if seen[s] > 1 and not tagged[i]]
        if not clashing:
            return shown_names
        for i in clashing:
            shown_names[i] = f"{shown_names[i]} [{slugs[i]}]"
            tagged[i] = True
