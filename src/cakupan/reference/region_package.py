"""The Kepmendagri region hierarchy from the npm package idn-area-data 4.0.1 (data: ODbL 1.0).

Fetched once with `npm pack` into the cache, verified by sha256, and read straight from the tarball.
The package calls kabupaten/kota "regencies" and kecamatan "districts"; this module speaks ours:
province > district (kabupaten/kota) > subdistrict (kecamatan) > village (desa/kelurahan).
"""

from __future__ import annotations

import csv
import io
import tarfile
from collections.abc import Iterator
from pathlib import Path

from cakupan.errors import UserError
from cakupan.platform.npm_package import NpmPackage, NpmPackageError

PACKAGE = "idn-area-data"
VERSION = "4.0.1"
SHA256 = "8d47ffb2be39c08aacb0a2dd43193a1edb5754edb1022d57158341c702acc32d"
REGION_PACKAGE = NpmPackage(PACKAGE, VERSION, SHA256)
TARBALL = REGION_PACKAGE.tarball
ATTRIBUTION = (
    "Kode dan nama wilayah: idn-area-data 4.0.1 oleh fityannugroho (github.com/fityannugroho/idn-area-data), "
    "lisensi Open Database License (ODbL) 1.0."
)
ATTRIBUTION_EN = (
    "Region codes and names: idn-area-data 4.0.1 by fityannugroho (github.com/fityannugroho/idn-area-data), "
    "licensed under the Open Database License (ODbL) 1.0."
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
    try:
        return REGION_PACKAGE.ensure(cache_dir)
    except NpmPackageError as error:
        raise RegionPackageError(str(error)) from error


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
