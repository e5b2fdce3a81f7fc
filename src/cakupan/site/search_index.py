"""The docs site's search index: JavaScript files under `search/` that the search box loads with script tags.

The site must work from the file system, where a page cannot fetch() data, so every index file is a script
that hands its rows to `window.cakupanSearch` (defined by static/search.js). All 83,762 villages in one
file would weigh megabytes, so the index is sharded and a query loads at most one village shard:

- `search/regions.js`, always loaded: every province and district (kind, code, name, parent, URL) and the
  list of village shards that exist.
- `search/name-<key>.js`: the villages having a name word that starts with `<key>`. Keys are the first two
  letters of a normalised word (lower case, ASCII-folded, punctuation dropped); a key whose shard would be
  too heavy is split by one more letter, again and again, so common beginnings ("ba", "suka") stay small.
  A word of exactly the split key's letters stays in the key's own shard.
- `search/code-<digits>.js`: the villages whose code begins with a district's code (digits only: "1373").

A village row is `[village_code, village_name, district_code]`: its district and province names and its
page come from regions.js, which every query has loaded anyway, rather than being repeated in every shard
the village appears in (that repetition tripled the heaviest shard). Its URL is the district page's with
the id of its row in the district page's village table (`site_paths.VILLAGE_ROW_ID`, which regions.js carries).
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Mapping
from pathlib import Path

from cakupan.site.site_paths import VILLAGE_ROW_ID, district_url, province_url

SEARCH_FOLDER = "search"
REGIONS_FILE = "regions.js"
# A shard above this many bytes is split by one more letter: a village shard must load fast on a slow line.
NAME_SHARD_BUDGET = 60_000
# search.js has the same two numbers: the letters of a shortest name shard key, the digits of a code shard key.
FIRST_KEY_LENGTH = 2
CODE_SHARD_DIGITS = 4
REGISTER = "window.cakupanSearch.add"

_JOINING_MARKS = re.compile(r"['’`ʼ]")  # "Regapu’u" is one word, "regapuu", not "regapu u"
_SEPARATORS = re.compile(r"[^a-z0-9]+")
_NOT_DIGITS = re.compile(r"[^0-9]")


def name_words(name: str) -> list[str]:
    """The words of a name as the search box compares them: lower case, ASCII, no punctuation."""
    decomposed = unicodedata.normalize("NFKD", name)
    folded = "".join(char for char in decomposed if not unicodedata.combining(char)).lower()
    return _SEPARATORS.sub(" ", _JOINING_MARKS.sub("", folded)).split()


def code_digits(code: str) -> str:
    """A code as the search box compares it, so "13.73", "1373" and "13 73" are one query."""
    return _NOT_DIGITS.sub("", code)


def write_search_index(provinces: Iterable[Mapping], districts: Iterable[Mapping], villages: Iterable[Mapping],
                       out_dir: Path) -> list[Path]:
    """Write the search index under `out_dir/search/` (out_dir is the site root); return the files written.

    Rows are mappings: provinces with province_code and province_name; districts with district_code,
    district_name and province_code; villages with village_code, village_name and district_code.
    The output depends only on the rows, never on their order.
    """
    folder = out_dir / SEARCH_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.js"):  # a shard split differently last time must not linger
        stale.unlink()

    province_rows = sorted([row["province_code"], row["province_name"]] for row in provinces)
    province_names = dict(province_rows)
    district_rows = sorted([row["district_code"], row["district_name"], row["province_code"]] for row in districts)
    known_districts = {code for code, _, _ in district_rows}
    village_rows = sorted([row["village_code"], row["village_name"], row["district_code"]] for row in villages)
    for code, _, district_code in village_rows:
        if district_code not in known_districts:
            raise ValueError(f"village {code} names district {district_code}, which is not among the districts")

    name_shards = _name_shards(village_rows)
    code_shards: dict[str, list[list[str]]] = defaultdict(list)
    for row in village_rows:
        code_shards[_code_key(row[0])].append(row)

    written = []
    for key, rows in sorted(name_shards.items()):
        written.append(_write_shard(folder, f"name-{key}", rows))
    for key, rows in sorted(code_shards.items()):
        written.append(_write_shard(folder, f"code-{key}", rows))
    regions = {
        "provinces": [["province", code, name, "", province_url(code)] for code, name in province_rows],
        "districts": [["district", code, name, province_names.get(province_code, ""), district_url(code)]
                      for code, name, province_code in district_rows],
        "nameShards": sorted(name_shards),
        "codeShards": sorted(code_shards),
        "villageRowId": VILLAGE_ROW_ID,  # search.js puts a village's code in it
    }
    written.insert(0, _write_shard(folder, REGIONS_FILE.removesuffix(".js"), regions))
    return written


def _code_key(village_code: str) -> str:
    # A district's digits in Kepmendagri codes, as search.js takes them from a query: a code query needs
    # four digits before it loads a shard, and one province's villages (8,563 in Jawa Tengah) would be far
    # too heavy for one shard.
    return code_digits(village_code)[:CODE_SHARD_DIGITS]


def _name_shards(village_rows: list[list[str]]) -> dict[str, list[list[str]]]:
    """Shard key -> the villages having a word under it; keys grow a letter where a shard is too heavy."""
    words_of = [{word for word in name_words(name) if len(word) >= FIRST_KEY_LENGTH} for _, name, _ in village_rows]
    shards: dict[str, list[list[str]]] = {}
    pending = _group(range(len(village_rows)), words_of, lambda word: word[:FIRST_KEY_LENGTH])
    while pending:
        key, members = pending.popitem()
        rows = [village_rows[index] for index in sorted(members)]
        words = {word for index in members for word in words_of[index] if word.startswith(key)}
        splittable = any(len(word) > len(key) for word in words)
        if len(_shard_text(key, rows)) <= NAME_SHARD_BUDGET or not splittable:
            shards[key] = rows
            continue
        exact = [index for index in members if key in words_of[index]]
        if exact:
            shards[key] = [village_rows[index] for index in sorted(exact)]
        longer = _group(members, words_of, lambda word, key=key: word[:len(key) + 1] if (
            word.startswith(key) and len(word) > len(key)) else None)
        pending.update(longer)
    return shards


def _group(members: Iterable[int], words_of: list[set[str]], key_of) -> dict[str, set[int]]:
    groups: dict[str, set[int]] = defaultdict(set)
    for index in members:
        for word in words_of[index]:
            key = key_of(word)
            if key is not None:
                groups[key].add(index)
    return dict(groups)


def _shard_text(name: str, rows: object) -> str:
    payload = json.dumps(rows, ensure_ascii=False, separators=(",", ":"))
    return f"{REGISTER}({json.dumps(name)},{payload});\n"


def _write_shard(folder: Path, name: str, rows: object) -> Path:
    path = folder / f"{name}.js"
    path.write_text(_shard_text(name, rows), encoding="utf-8")
    return path
