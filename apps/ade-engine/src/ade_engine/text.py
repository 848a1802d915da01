"""Small text helpers shared by header matching and configuration checks."""

import re
import unicodedata

_SEPARATORS = re.compile(r"[\W_]+")


def normalize_header(text):
    """Comparable form of a header, field name, label or synonym.

    Accents are dropped, case is folded and every run of characters that are
    not letters or digits becomes one underscore: ``"E-mail Address "`` and
    ``"email_address"`` both give ``"e_mail_address"`` and ``"email_address"``
    respectively, ``"Member #"`` gives ``"member"``.
    """
    if text is None:
        return ""
    decomposed = unicodedata.normalize("NFKD", str(text))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _SEPARATORS.sub("_", stripped.casefold()).strip("_")
