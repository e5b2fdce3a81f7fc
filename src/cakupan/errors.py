"""The errors a user can fix from the message alone.

Each stage raises its own (`WarehouseError`, `ReferenceError`, `RubricError`, ...), and every one of them
derives from `UserError`: the CLI prints such an error as one `cakupan: error:` line, without a traceback.
Each also keeps the built-in base it had (RuntimeError or ValueError), so code that catches those still does.
Errors that mean a bug, or a failed night (a quality gate, dbt), are not UserErrors.
"""

from __future__ import annotations


class UserError(Exception):
    """An error whose message says what is wrong and what to do; shown without a traceback."""
