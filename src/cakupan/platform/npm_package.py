"""A package from the npm registry, fetched once with `npm pack` into a cache folder and verified by sha256:
how Cakupan takes data (idn-area-data) and test tools (axe-core) from npm, the one registry it may reach."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cakupan.errors import UserError
from cakupan.ingest.readers import sha256_of


class NpmPackageError(UserError, RuntimeError):
    pass


@dataclass(frozen=True)
class NpmPackage:
    name: str
    version: str
    sha256: str

    @property
    def tarball(self) -> str:
        return f"{self.name}-{self.version}.tgz"

    def ensure(self, cache_dir: Path) -> Path:
        """Return the verified tarball in `cache_dir`, fetching it with `npm pack` the first time.

        Fetched into a folder of its own and renamed into place once verified, so that processes fetching at
        once (the test processes of a fresh checkout) never read a file another is still writing."""
        cache_dir.mkdir(parents=True, exist_ok=True)
        tarball = cache_dir / self.tarball
        if not tarball.exists():
            if shutil.which("npm") is None:
                raise NpmPackageError("npm is not installed: install Node.js/npm, then run the command again.")
            print(f"Fetching {self.name}@{self.version} with npm pack ...", flush=True)
            with tempfile.TemporaryDirectory(dir=cache_dir, prefix=".fetch-") as folder:
                result = subprocess.run(
                    ["npm", "pack", f"{self.name}@{self.version}", "--silent", "--pack-destination", folder],
                    capture_output=True, text=True,
                )
                fetched = Path(folder) / self.tarball
                if result.returncode != 0 or not fetched.exists():
                    raise NpmPackageError(f"npm pack {self.name}@{self.version} failed: {result.stderr.strip()}")
                self._verify(fetched)
                os.replace(fetched, tarball)
            return tarball
        self._verify(tarball)
        return tarball

    def _verify(self, tarball: Path) -> None:
        actual = sha256_of(tarball)
        if actual != self.sha256:
            tarball.unlink()
            raise NpmPackageError(f"{self.tarball} has sha256 {actual}, expected {self.sha256}; the corrupt file "
                                  "was removed, run again to re-fetch.")
