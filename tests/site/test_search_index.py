"""The site's search: the sharded index search_index.py writes, the box static/search.js runs on it (under node,
and once in Debian's chromium from the file system), the partial that puts the box on a page, and the index's
weight at national size with the real region names."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from cakupan.reference import region_package
from cakupan.settings import load_settings
from cakupan.site import search_index
from cakupan.site.rendering import ASSETS_FOLDER, STATIC, render
from cakupan.site.search_index import code_digits, name_words, write_search_index

SITE_PACKAGE = Path(search_index.__file__).parent
SEARCH_SCRIPT = STATIC / "search.js"
SCRIPT_IN_SITE = f"{ASSETS_FOLDER}/search.js"
TEMPLATES = SITE_PACKAGE / "templates"
NODE = shutil.which("node")
CHROMIUM = shutil.which("chromium")

PROVINCES = [
    {"province_code": "13", "province_name": "Sumatera Barat"},
    {"province_code": "11", "province_name": "Aceh"},
]
DISTRICTS = [
    {"district_code": "13.73", "district_name": "Kota Sawahlunto", "province_code": "13"},
    {"district_code": "13.74", "district_name": "Kota Padang Panjang", "province_code": "13"},
    {"district_code": "13.71", "district_name": "Kota Padang", "province_code": "13"},
    {"district_code": "13.03", "district_name": "Kabupaten Sijunjung", "province_code": "13"},
    {"district_code": "11.01", "district_name": "Kabupaten Aceh Selatan", "province_code": "11"},
]
VILLAGES = [
    {"village_code": "13.73.01.2001", "village_name": "Talago Gunung", "district_code": "13.73"},
    {"village_code": "13.73.02.1001", "village_name": "Sawah Rasau", "district_code": "13.73"},
    {"village_code": "13.71.01.1001", "village_name": "Padang Pasir", "district_code": "13.71"},
    {"village_code": "13.71.01.1002", "village_name": "Padang", "district_code": "13.71"},
    {"village_code": "13.03.05.2003", "village_name": "Sijunjung", "district_code": "13.03"},
    {"village_code": "11.01.01.2001", "village_name": "Udek Du’en", "district_code": "11.01"},
    {"village_code": "11.01.01.2002", "village_name": "Pétak-Baru (Lama)", "district_code": "11.01"},
]


def read_shard(path: Path) -> tuple[str, object]:
    """(name, rows) of an index file, which is one `window.cakupanSearch.add(name, rows);` call."""
    text = path.read_text(encoding="utf-8")
    prefix = f"{search_index.REGISTER}("
    assert text.startswith(prefix) and text.endswith(");\n"), text[:80]
    name, rows = json.loads(f"[{text[len(prefix):-3]}]")
    return name, rows


def test_names_fold_to_ascii_words_without_punctuation():
    assert name_words("Kota Padang Panjang") == ["kota", "padang", "panjang"]
    assert name_words("Udek Du’en") == ["udek", "duen"]
    assert name_words("Pétak-Baru (Lama)") == ["petak", "baru", "lama"]
    assert name_words("KOTO BARU/II") == ["koto", "baru", "ii"]
    assert code_digits("13.73.01") == code_digits("1373 01") == "137301"


def test_the_index_shards_villages_by_word_beginning_and_by_district_code(tmp_path):
    written = write_search_index(PROVINCES, DISTRICTS, VILLAGES, tmp_path)

    folder = tmp_path / "search"
    assert written[0] == folder / "regions.js"
    assert sorted(path.name for path in written) == sorted(path.name for path in folder.iterdir()) == [
        "code-1101.js", "code-1303.js", "code-1371.js", "code-1373.js",
        "name-ba.js", "name-du.js", "name-gu.js", "name-la.js", "name-pa.js", "name-pe.js", "name-ra.js",
        "name-sa.js", "name-si.js", "name-ta.js", "name-ud.js", "regions.js",
    ]
    name, regions = read_shard(folder / "regions.js")
    assert name == "regions"
    assert regions == {
        "provinces": [["province", "11", "Aceh", "", "provinsi/11.html"],
                      ["province", "13", "Sumatera Barat", "", "provinsi/13.html"]],
        "districts": [["district", "11.01", "Kabupaten Aceh Selatan", "Aceh", "kabupaten/11.01.html"],
                      ["district", "13.03", "Kabupaten Sijunjung", "Sumatera Barat", "kabupaten/13.03.html"],
                      ["district", "13.71", "Kota Padang", "Sumatera Barat", "kabupaten/13.71.html"],
                      ["district", "13.73", "Kota Sawahlunto", "Sumatera Barat", "kabupaten/13.73.html"],
                      ["district", "13.74", "Kota Padang Panjang", "Sumatera Barat", "kabupaten/13.74.html"]],
        "nameShards": ["ba", "du", "gu", "la", "pa", "pe", "ra", "sa", "si", "ta", "ud"],
        "codeShards": ["1101", "1303", "1371", "1373"],
        "villageRowId": "desa-{village_code}",
    }
    assert read_shard(folder / "name-pa.js")[1] == [["13.71.01.1001", "Padang Pasir", "13.71"],
                                                     ["13.71.01.1002", "Padang", "13.71"]]
    assert read_shard(folder / "name-pe.js")[1] == [["11.01.01.2002", "Pétak-Baru (Lama)", "11.01"]]
    assert read_shard(folder / "name-du.js")[1] == [["11.01.01.2001", "Udek Du’en", "11.01"]]
    assert read_shard(folder / "code-1373.js")[1] == [["13.73.01.2001", "Talago Gunung", "13.73"],
                                                      ["13.73.02.1001", "Sawah Rasau", "13.73"]]
    assert "\n" not in (folder / "code-1373.js").read_text(encoding="utf-8").rstrip("\n")


def test_the_index_is_the_same_whatever_the_order_of_the_rows(tmp_path):
    first = write_search_index(PROVINCES, DISTRICTS, VILLAGES, tmp_path / "a")
    second = write_search_index(PROVINCES[::-1], DISTRICTS[::-1], VILLAGES[::-1], tmp_path / "b")
    assert [path.read_bytes() for path in first] == [path.read_bytes() for path in second]


def test_a_heavy_shard_splits_by_one_more_letter_and_keeps_its_exact_word(tmp_path, monkeypatch):
    villages = [{"village_code": f"13.73.01.{2000 + number}", "village_name": name, "district_code": "13.73"}
                for number, name in enumerate(["Sukamaju", "Sukaraja", "Sukamanah", "Suka", "Sungai Rumbai"])]
    monkeypatch.setattr(search_index, "NAME_SHARD_BUDGET", 120)
    write_search_index(PROVINCES, DISTRICTS, villages, tmp_path)

    _, regions = read_shard(tmp_path / "search" / "regions.js")
    # "su" splits into "suk" and "sun"; "suk" into "suka" (the word "Suka" itself) and "sukam", "sukar".
    assert [key for key in regions["nameShards"] if key.startswith("su")] == ["suka", "sukam", "sukar", "sun"]
    assert [row[1] for row in read_shard(tmp_path / "search" / "name-suka.js")[1]] == ["Suka"]
    assert [row[1] for row in read_shard(tmp_path / "search" / "name-sukam.js")[1]] == ["Sukamaju", "Sukamanah"]


def test_a_village_of_an_unknown_district_is_refused(tmp_path):
    stray = {"village_code": "99.01.01.2001", "village_name": "Entah", "district_code": "99.01"}
    with pytest.raises(ValueError, match="99.01"):
        write_search_index(PROVINCES, DISTRICTS, [*VILLAGES, stray], tmp_path)


def test_a_rebuild_removes_shards_that_no_longer_exist(tmp_path):
    write_search_index(PROVINCES, DISTRICTS, VILLAGES, tmp_path)
    write_search_index(PROVINCES, DISTRICTS, VILLAGES[:1], tmp_path)
    assert not (tmp_path / "search" / "name-ud.js").exists()


# Runs search.js's index logic under node on the files the writer wrote, loading shards as the page would.
NODE_SEARCH = """
const fs = require("fs"), path = require("path"), vm = require("vm");
const [script, site, queries] = process.argv.slice(2);
const search = require(script).createIndex();
const context = vm.createContext({window: {cakupanSearch: {add: search.add}}});
const load = (name) => vm.runInContext(fs.readFileSync(path.join(site, "search", name + ".js"), "utf8"), context);
load("regions");
const answers = {};
for (const query of JSON.parse(queries)) {
  let answer = search.search(query), loaded = [];
  while (answer.missing) { loaded.push(answer.missing); load(answer.missing); answer = search.search(query); }
  answers[query] = {loaded, incomplete: answer.incomplete,
                    results: answer.results.map((r) => [r.kind, r.code, r.name, r.parent, r.url])};
}
console.log(JSON.stringify(answers));
"""


def run_queries(site: Path, queries: list[str], tmp_path: Path) -> dict:
    runner = tmp_path / "run_search.js"
    runner.write_text(NODE_SEARCH)
    result = subprocess.run([NODE, str(runner), str(SEARCH_SCRIPT), str(site), json.dumps(queries)],
                            capture_output=True, text=True, timeout=60, check=True)
    return json.loads(result.stdout)


@pytest.mark.skipif(NODE is None, reason="needs node")
def test_the_box_finds_names_and_codes_loading_one_shard(tmp_path):
    write_search_index(PROVINCES, DISTRICTS, VILLAGES, tmp_path)
    queries = ["sawah", "SIJUNJUNG", "padang", "padang panj", "pasir", "13.73", "1373", "13.73.01", "1373012001",
               "13.71", "duen", "du'en", "petak", "s"]
    answers = run_queries(tmp_path, queries, tmp_path)

    assert answers["sawah"] == {"loaded": ["name-sa"], "incomplete": False, "results": [
        ["district", "13.73", "Kota Sawahlunto", "Sumatera Barat", "kabupaten/13.73.html"],
        ["village", "13.73.02.1001", "Sawah Rasau", "Kota Sawahlunto, Sumatera Barat",
         "kabupaten/13.73.html#desa-13.73.02.1001"],
    ]}
    # The district and the village of the same name are both exact: the district comes first.
    assert [r[:2] for r in answers["SIJUNJUNG"]["results"]] == [["district", "13.03"], ["village", "13.03.05.2003"]]
    # Exact names first (a district's without its "Kota"), then names that begin so, regions before villages,
    # and a region whose name begins so before a village of exactly that name.
    assert [r[2] for r in answers["padang"]["results"]] == [
        "Kota Padang", "Kota Padang Panjang", "Padang", "Padang Pasir"]
    assert [r[2] for r in answers["pasir"]["results"]] == ["Padang Pasir"]
    assert [r[1] for r in answers["13.71"]["results"]] == ["13.71", "13.71.01.1001", "13.71.01.1002"]
    assert [r[2] for r in answers["padang panj"]["results"]] == ["Kota Padang Panjang"]
    assert answers["13.73"]["loaded"] == ["code-1373"]  # and the same shard serves every later query of 13.73
    assert answers["13.73"]["results"] == answers["1373"]["results"]
    assert [r[1] for r in answers["1373"]["results"]] == ["13.73", "13.73.01.2001", "13.73.02.1001"]
    assert [r[1] for r in answers["13.73.01"]["results"]] == ["13.73.01.2001"]
    assert answers["1373012001"]["results"][0][4] == "kabupaten/13.73.html#desa-13.73.01.2001"
    assert [r[1] for r in answers["duen"]["results"]] == [r[1] for r in answers["du'en"]["results"]] == [
        "11.01.01.2001"]
    assert [r[2] for r in answers["petak"]["results"]] == ["Pétak-Baru (Lama)"]
    # One letter is too few to choose a village shard: provinces and districts only.
    assert answers["s"]["loaded"] == [] and answers["s"]["incomplete"]
    assert {r[0] for r in answers["s"]["results"]} == {"province", "district"}


@pytest.mark.skipif(NODE is None, reason="needs node")
def test_a_split_key_asks_for_more_letters(tmp_path, monkeypatch):
    villages = [{"village_code": f"13.73.01.{2000 + number}", "village_name": name, "district_code": "13.73"}
                for number, name in enumerate(["Sukamaju", "Sukaraja", "Sukamanah", "Suka", "Sungai Rumbai"])]
    monkeypatch.setattr(search_index, "NAME_SHARD_BUDGET", 120)
    write_search_index(PROVINCES, DISTRICTS, villages, tmp_path)
    answers = run_queries(tmp_path, ["su", "suka", "sukam"], tmp_path)

    assert answers["su"] == {"loaded": [], "incomplete": True, "results": [
        ["province", "13", "Sumatera Barat", "", "provinsi/13.html"]]}
    assert answers["suka"]["incomplete"] and [r[2] for r in answers["suka"]["results"]] == ["Suka"]
    assert not answers["sukam"]["incomplete"]
    assert [r[2] for r in answers["sukam"]["results"]] == ["Sukamaju", "Sukamanah"]


def render_partial(root: str) -> str:
    return render("partials/search.html.j2", root=root)


def test_the_partial_has_the_box_its_labels_and_script_and_no_bare_words():
    page = render_partial("../")
    assert '<form role="search" class="search" data-root="../"' in page
    assert 'aria-controls="search-results"' in page and 'role="listbox"' in page
    assert f'<script src="../{SCRIPT_IN_SITE}" defer></script>' in page
    for kind in ("province", "district", "village", "more", "none"):
        assert f'data-label="{kind}"' in page
    # Every visible word comes through t(): without its language spans the partial shows no text at all.
    bare = re.sub(r'<span class="lang-(id|en)"[^>]*>[^<]*</span>', "", page)
    assert re.sub(r"<[^>]+>", "", bare).split() == []


PAGE = """<!doctype html>
<html lang="id" data-lang="id">
<head><meta charset="utf-8"><link rel="icon" href="data:,"><title>{title}</title>
<style>html[data-lang="en"] .lang-id, html:not([data-lang="en"]) .lang-en {{ display: none; }}</style></head>
<body>{search}<h1>{title}</h1>{villages}</body>
</html>
"""


def fixture_site(site: Path) -> Path:
    """A site of the small set's pages, each with the search box, as the page builder will lay it out."""
    write_search_index(PROVINCES, DISTRICTS, VILLAGES, site)
    (site / SCRIPT_IN_SITE).parent.mkdir(parents=True)
    shutil.copy(SEARCH_SCRIPT, site / SCRIPT_IN_SITE)
    pages = {"index.html": ("Nasional", "")}
    pages |= {f"provinsi/{row['province_code']}.html": (row["province_name"], "") for row in PROVINCES}
    for district in DISTRICTS:
        rows = "".join(f'<tr id="desa-{village["village_code"]}"><td>{village["village_name"]}</td></tr>'
                       for village in VILLAGES if village["district_code"] == district["district_code"])
        # Tall enough that going to a village's row has to scroll.
        villages = f'<div style="height: 3000px"></div><table><tbody>{rows}</tbody></table>'
        pages[f"kabupaten/{district['district_code']}.html"] = (district["district_name"], villages)
    for relative, (title, villages) in pages.items():
        path = site / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        root = "../" * relative.count("/")
        path.write_text(PAGE.format(title=title, search=render_partial(root), villages=villages), encoding="utf-8")
    return site


@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium")
def test_the_box_in_a_browser_from_the_file_system(tmp_path):
    from playwright.sync_api import expect, sync_playwright

    site = fixture_site(tmp_path / "site")
    errors: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        page = browser.new_page()
        page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto((site / "index.html").as_uri())
        options = page.locator('#search-results [role="option"]')

        page.fill("#search", "sawah")
        expect(options.first).to_contain_text("Kota Sawahlunto")
        expect(options).to_have_count(2)  # and the village Sawah Rasau, from the shard the query loaded
        expect(page.locator("#search")).to_have_attribute("aria-expanded", "true")

        page.fill("#search", "13.73.01.2001")
        expect(options).to_have_count(1)
        page.press("#search", "Enter")
        page.wait_for_url("**/kabupaten/13.73.html#desa-13.73.01.2001")
        expect(page.locator('[id="desa-13.73.01.2001"]')).to_be_in_viewport()

        # A page one folder down, in English, by the arrow keys.
        page.evaluate("document.documentElement.setAttribute('data-lang', 'en')")
        page.fill("#search", "padang")
        expect(options).to_have_count(4)
        expect(options.nth(1)).to_contain_text("District", use_inner_text=True)
        expect(options.nth(1)).not_to_contain_text("Kabupaten/Kota", use_inner_text=True)
        page.press("#search", "ArrowDown")
        page.press("#search", "ArrowDown")
        expect(options.nth(1)).to_have_attribute("aria-selected", "true")
        page.press("#search", "Enter")
        page.wait_for_url("**/kabupaten/13.74.html")
        expect(page.locator("h1")).to_have_text("Kota Padang Panjang")
        browser.close()
    assert errors == []


def region_rows_from_tarball(tarball: Path) -> tuple[list[dict], list[dict], list[dict]]:
    provinces = [{"province_code": code, "province_name": name}
                 for code, _, name in region_package.iter_level(tarball, "province")]
    districts = [{"district_code": code, "district_name": name, "province_code": parent}
                 for code, parent, name in region_package.iter_level(tarball, "district")]
    district_of_subdistrict = {code: parent for code, parent, _ in region_package.iter_level(tarball, "subdistrict")}
    villages = [{"village_code": code, "village_name": name, "district_code": district_of_subdistrict[parent]}
                for code, parent, name in region_package.iter_level(tarball, "village")]
    return provinces, districts, villages


@pytest.fixture(scope="module")
def national_regions() -> tuple[list[dict], list[dict], list[dict]]:
    tarball = load_settings().cache_dir / region_package.TARBALL
    if not tarball.exists():
        pytest.skip(f"no {tarball}: `cakupan reference load` fetches it")
    return region_rows_from_tarball(tarball)


def test_the_national_index_stays_light(national_regions, tmp_path):
    provinces, districts, villages = national_regions
    assert (len(provinces), len(districts), len(villages)) == (38, 514, 83762)

    written = write_search_index(provinces, districts, villages, tmp_path)

    sizes = {path.name: path.stat().st_size for path in written}
    largest = max((size, name) for name, size in sizes.items() if name != "regions.js")
    print(f"\nsearch index: {len(sizes)} files, {sum(sizes.values()):,} bytes; regions.js {sizes['regions.js']:,}; "
          f"largest shard {largest[1]} {largest[0]:,}")
    assert sizes["regions.js"] < 100_000
    assert largest[0] < 200_000


@pytest.mark.skipif(NODE is None, reason="needs node")
def test_the_box_folds_every_real_name_as_the_index_does(national_regions, tmp_path):
    names = sorted({row[key] for rows, key in zip(national_regions, ("province_name", "district_name", "village_name"),
                                                  strict=True) for row in rows})
    (tmp_path / "names.json").write_text(json.dumps(names), encoding="utf-8")
    fold = ("const {words} = require(process.argv[1]); const fs = require('fs');"
            "const names = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));"
            "console.log(JSON.stringify(names.map(words)));")
    result = subprocess.run([NODE, "-e", fold, str(SEARCH_SCRIPT), str(tmp_path / "names.json")],
                            capture_output=True, text=True, timeout=60, check=True)
    folded_by_box = dict(zip(names, json.loads(result.stdout), strict=True))
    differing = {name: words for name, words in folded_by_box.items() if words != name_words(name)}
    assert differing == {}
