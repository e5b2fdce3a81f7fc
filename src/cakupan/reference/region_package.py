"""The Kepmendagri region hierarchy from the npm package idn-area-data 4.0.1 (data: ODbL 1.0).

Fetched once with `npm pack` into the cache, verified by sha256, and read straight from the tarball.
The package calls kabupaten/kota "regencies" and kecamatan "districts"; this module speaks ours:
province > district (kabupaten/kota) > subdistrict (kecamatan) > village (desa/kelurahan).
"""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
import tarfile
from collections.abc import Iterator
from pathlib import Path

from cakupan.errors import UserError
from cakupan.ingest.readers import sha256_of

PACKAGE = "idn-area-data"
VERSION = "4.0.1"
SHA256 = "8d47ffb2be39c08aacb0a2dd43193a1edb5754edb1022d57158341c702acc32d"
TARBALL = f"{PACKAGE}-{VERSION}.tgz"
ATTRIBUTION = (
    "Kode dan nama wilayah: idn-area-data 4.0.1 oleh fityannugroho (github.com/fityannugroho/idn-area-data), "
    "lisensi Open Database License (ODbL) 1.0."
)

# our level -> (member in the tarball, expected rows)
LEVELS = {
    "province": ("package/data/provinces.csv", 38),
    "district": ("package/data/regencies.csv", 514),
    "subdistrict": ("package/data/districts.csv", 7285),
    "village": ("package/data/villages.csv", 83762),
}


class RegionPackageError(UserError, RuntimeError):
    pass


def ensure_package(cache_dir: Path) -> Path:
    """Return the verified tarball, fetching it with `npm pack` the first time."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    tarball = cache_dir / TARBALL
    if not tarball.exists():
        if shutil.which("npm") is None:
            raise RegionPackageError("npm is not installed: install Node.js/npm, then run the command again.")
        print(f"Fetching {PACKAGE}@{VERSION} with npm pack ...", flush=True)
        result = subprocess.run(
            ["npm", "pack", f"{PACKAGE}@{VERSION}", "--silent", "--pack-destination", str(cache_dir)],
            capture_output=True,
            text=True,
        )
        if result.returncode != 0 or not tarball.exists():
            raise RegionPackageError(f"npm pack {PACKAGE}@{VERSION} failed: {result.stderr.strip()}")
    actual = sha256_of(tarball)
    if actual != SHA256:
        tarball.unlink()
        raise RegionPackageError(
            f"{TARBALL} has sha256 {actual}, expected {SHA256}; the corrupt file was removed, run again to re-fetch."
        )
    return tarball


def iter_level(tarball: Path, level: str) -> Iterator[tuple[str, str, str]]:
    """Yield (code, parent_code, name) of one level; parent_code is '' for provinces."""
    member, _ = LEVELS[level]
    with tarfile.open(tarball, "r:gz") as archive:
        handle = archive.extractfile(member)
        if handle is None:
            raise RegionPackageError(f"{TARBALL} has no {member}")
        reader = csv.reader(io.TextIOWrapper(handle, encoding="utf-8", newline=""))
        header = next(reader)
        for row in reader:
            if level == "province":
                yield row[0], "", row[1]
            else:
                yield row[0], row[1], row[2]
        del header
