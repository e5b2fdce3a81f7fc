"""Keyed pseudonyms for identifiers: HMAC-SHA256 of the NIK, so persons can be counted but not named.

The NIK never reaches the database in clear: the loader hashes it while streaming. A NIK that is not
16 digits cannot be a person's number; it gets no pseudonym and a `problem` the row rules turn into a reason.
"""

from __future__ import annotations

import hashlib
import hmac
import re

_SCIENTIFIC = re.compile(r"^\d([.,]\d+)?[eE][+]?\d+$")


class MissingKeyError(RuntimeError):
    pass


def nik_problem(nik: str) -> str:
    """'' for a well-formed NIK, else the kind of damage, for the row rule `nik_format` to explain."""
    if len(nik) == 16 and nik.isascii() and nik.isdigit():
        return ""
    if not nik:
        return "empty"
    if _SCIENTIFIC.match(nik):
        return "scientific"
    if nik.isascii() and nik.isdigit():
        return "length"
    return "characters"


class Pseudonymiser:
    def __init__(self, key: str | None):
        if not key:
            raise MissingKeyError(
                "No pseudonymisation key: set CAKUPAN_PII_KEY (or the Airflow connection `cakupan_pii_key`). "
                "The demo (`make run`) creates one under .cakupan/; production keeps its own secret."
            )
        self._template = hmac.new(key.encode("utf-8"), digestmod=hashlib.sha256)

    def pseudonym(self, identifier: str) -> str:
        mac = self._template.copy()
        mac.update(identifier.encode("ascii"))
        return mac.hexdigest()
