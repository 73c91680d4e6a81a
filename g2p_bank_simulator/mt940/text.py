"""Text rules of our MT940 dialect: the SWIFT X character set, references, narratives.

Everything here is pure and cached where the same values recur (program and cycle
mnemonics, reversal reasons), because a statement may carry 100,000 entries.
"""

import functools
import unicodedata

#: The SWIFT "X" character set: the only characters a field may carry.
ALLOWED = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/-?:().,'+ "
)
#: What replaces a character that has no place in the set.
REPLACEMENT = "."
#: Written in `:61:` when the customer gave no reference (the SWIFT convention).
NO_REFERENCE = "NONREF"
#: Written as the only `:86:` line of an entry without narrative, so that every `:61:`
#: has its `:86:` and the parsers never attach an empty one to the wrong entry.
NO_NARRATIVE = "NONREF"
#: Written for an empty narrative line that a later line follows: the `mt-940` parser
#: drops empty lines, which would move every later line up one position.
EMPTY_LINE = "."

REFERENCE_CHARS = 16
ACCOUNT_CHARS = 35
NARRATIVE_LINES = 6
NARRATIVE_CHARS = 65

# One translation for the whole ASCII range; characters above it are folded first.
_ASCII_TABLE = {
    code: (chr(code) if chr(code) in ALLOWED else REPLACEMENT) for code in range(128)
}


def sanitize(text):
    """Return ``text`` in the SWIFT X character set.

    Accented letters are folded to their base letter (NFKD, combining marks dropped);
    every other character outside the set, line breaks included, becomes ``.``.
    """
    if not text:
        return ""
    if not text.isascii():
        text = "".join(
            char
            for char in unicodedata.normalize("NFKD", text)
            if not unicodedata.combining(char)
        )
        text = "".join(char if char in ALLOWED else REPLACEMENT for char in text)
    return text.translate(_ASCII_TABLE)


def reference(text, limit=REFERENCE_CHARS):
    """Return ``text`` as a SWIFT reference field, cut to ``limit`` characters.

    A reference may not start or end with ``/`` nor contain ``//``: in `:61:` the ``//``
    separates the customer from the bank reference, so a slash there would move the
    boundary. Runs of slashes are collapsed to one, outer slashes and spaces dropped.
    """
    text = sanitize(text)
    while "//" in text:
        text = text.replace("//", "/")
    text = text.strip(" /")
    if len(text) > limit:
        text = text[:limit].rstrip(" /")
    return text


@functools.lru_cache(maxsize=8192)
def narrative_line(text):
    """Return one `:86:` line: sanitised, trimmed, at most 65 characters.

    Parsers strip the spaces around a line, so they are dropped here to read back the
    same. A line may not start with ``:`` (a parser would take it for a tag) nor ``-``
    (the end of a message): that first character is replaced by ``.``, like any other
    character the dialect cannot carry, rather than prefixed with a space that the
    parsers would strip again on the first line and keep on the others.
    """
    text = sanitize(text).strip()[:NARRATIVE_CHARS].rstrip()
    if text[:1] in (":", "-"):
        text = REPLACEMENT + text[1:]
    return text
