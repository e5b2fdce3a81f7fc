"""The state folder ($CAKUPAN_HOME) and the embedded warehouse's folder in it: readable by their owner only.

The home holds the warehouse's passwords, the demo's pseudonymisation key, Airflow's secrets and the
branches' rejection reports, so nobody else on the machine may list or read it (0700).

Run by root, the embedded PostgreSQL runs as the system user `cakupan` (it refuses root), and it must reach
its data and log through every parent folder: a 0700 folder of root's would stop it at the door. So under
root the home and the warehouse folder belong to that system user, 0700: the server walks through them, root
reaches everything anyway, and nobody else gets in. Run by anyone else, both belong to that user.
"""

from __future__ import annotations

import os
from pathlib import Path

PRIVATE_FOLDER = 0o700
PRIVATE_FILE = 0o600


def make_private(folder: Path, owner_uid: int | None = None) -> Path:
    """Create `folder` (and missing parents) 0700, owned by `owner_uid` when given (root only). An existing
    folder is tightened when it is ours (or already `owner_uid`'s); one that belongs to someone else is left
    as it is: its owner chose its mode."""
    folder.mkdir(parents=True, exist_ok=True, mode=PRIVATE_FOLDER)
    status = folder.stat()
    ours = {os.geteuid()} | ({owner_uid} if owner_uid is not None else set())
    if status.st_uid not in ours:
        return folder
    if owner_uid is not None and status.st_uid != owner_uid:
        os.chown(folder, owner_uid, -1)
    if status.st_mode & 0o777 != PRIVATE_FOLDER:
        folder.chmod(PRIVATE_FOLDER)
    return folder


def make_private_file(path: Path, owner_uid: int | None = None) -> Path:
    """Create `path` if missing, 0600, owned by `owner_uid` when given (root only)."""
    path.touch(mode=PRIVATE_FILE, exist_ok=True)
    if owner_uid is not None and path.stat().st_uid != owner_uid:
        os.chown(path, owner_uid, -1)
    path.chmod(PRIVATE_FILE)
    return path
