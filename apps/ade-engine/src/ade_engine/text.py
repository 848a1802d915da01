"""Small text helpers shared by header matching and configuration checks."""

import re
import unicodedata

_SEPARATORS = re.compile(r"[\W_]+")


def normalize_header(text):
    """Comparable form of a header, field name, label or synonym.

    Accents are dropped, case is folded and every run of characters that are
    not letters or digits becomes one underscore, trimmed at both ends:
    ``" E-mail Address "`` gives ``"e_mail_address"``, ``"Member #"`` gives
    ``"member"`` and ``"Prénom"`` gives ``"prenom"``.
    """
    if text is None:
        return ""
    decomposed = unicodedata.normalize("NFKD", str(text))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _SEPARATORS.sub("_", stripped.casefold()).strip("_")


def plural(count, word):
    """``"1 sheet"``, ``"2 sheets"``: counts in event messages."""
    return f"{count} {word}" if count == 1 else f"{count} {word}s"
