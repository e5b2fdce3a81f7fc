"""Keyed pseudonyms for identifiers: HMAC-SHA256 of the NIK, so persons can be counted but not named.

The NIK never reaches the database in clear: the loader's judge hashes it while streaming, from the key's
inner and outer pads (`hmac_pads`, RFC 2104), so that the C extension (`nik_hmac`) or DuckDB computes exactly
what `pseudonym` does.
"""

from __future__ import annotations

import hashlib
import hmac

from cakupan.errors import UserError


class MissingKeyError(UserError, RuntimeError):
    pass


class Pseudonymiser:
    def __init__(self, key: str | None):
        if not key:
            raise MissingKeyError(
                "No pseudonymisation key: set CAKUPAN_PII_KEY (or the Airflow connection `cakupan_pii_key`). "
                "The demo (`make run`) creates one under .cakupan/; production keeps its own secret."
            )
        self._key = key.encode("utf-8")
        self._template = hmac.new(self._key, digestmod=hashlib.sha256)

    def hmac_pads(self) -> tuple[bytes, bytes]:
        """(inner, outer) pads: HMAC(key, m) = SHA256(outer || SHA256(inner || m))."""
        block = hashlib.sha256(self._key).digest() if len(self._key) > 64 else self._key
        block = block.ljust(64, b"\0")
        return bytes(b ^ 0x36 for b in block), bytes(b ^ 0x5C for b in block)

    def pseudonym(self, identifier: str) -> str:
        mac = self._template.copy()
        mac.update(identifier.encode("ascii"))
        return mac.hexdigest()
