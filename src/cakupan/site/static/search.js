/* The docs site's search box: finds a province, district or village by name or code and goes to its page.
 *
 * The index (search_index.py) is a set of scripts under <root>search/: regions.js (provinces, districts
 * and the list of village shards) is loaded at once, a village shard only when a query needs it. Scripts,
 * not fetch(), because the site must work from the file system. Each index script calls
 * window.cakupanSearch.add(name, rows).
 *
 * The page provides <form role="search" data-root="../"> holding <input id="search">, the listbox
 * #search-results, the status line #search-status and <template id="search-labels"> with the page's
 * bilingual words (partials/search.html.j2). Under node (the tests) only the index logic is exported.
 */
(function (global) {
  "use strict";

  var MAX_RESULTS = 20;
  var FIRST_KEY_LENGTH = 2;
  var CODE_SHARD_DIGITS = 4;
  var KIND_ORDER = { province: 0, district: 1, village: 2 };
  // Rank by kind and match (0 exact, 1 the name begins so, 2 a later word does). A region that begins with
  // the query outranks a village of exactly that name: "padang" must show Kota Padang Panjang, not only
  // the many villages called Padang, and there are only 552 regions against 83,762 villages.
  var RANK = { province: [0, 1, 3], district: [0, 1, 3], village: [2, 4, 5] };
  // A district's name begins with its kind; "sijunjung" is as exact a match for "Kabupaten Sijunjung".
  var DISTRICT_KIND_WORDS = ["kabupaten", "kota", "kab", "administrasi"];

  // Must fold names exactly as search_index.name_words does, or shard keys would not match.
  function words(text) {
    return text.normalize("NFKD").replace(/\p{Mn}/gu, "").toLowerCase()
      .replace(/['\u2019`\u02bc]/g, "").replace(/[^a-z0-9]+/g, " ").trim().split(" ").filter(Boolean);
  }

  function digits(text) {
    return text.replace(/[^0-9]/g, "");
  }

  function isCodeQuery(query) {
    return /^[0-9.\s]+$/.test(query) && digits(query).length > 0;
  }

  function compare(a, b) {
    return a < b ? -1 : a > b ? 1 : 0;
  }

  function entry(kind, code, name, parent, url) {
    var nameWords = words(name);
    var bare = nameWords;
    if (kind === "district") {
      while (bare.length > 1 && DISTRICT_KIND_WORDS.indexOf(bare[0]) >= 0) { bare = bare.slice(1); }
    }
    return { kind: kind, code: code, digits: digits(code), name: name, parent: parent, url: url,
             words: nameWords, folded: nameWords.join(" "), bare: bare.join(" ") };
  }

  function createIndex() {
    var regions = [];
    var districts = {};
    var nameShards = null;
    var codeShards = null;
    var villageRowId = null;
    var shards = {};

    function add(name, rows) {
      if (name === "regions") {
        rows.provinces.concat(rows.districts).forEach(function (row) {
          var region = entry(row[0], row[1], row[2], row[3], row[4]);
          regions.push(region);
          if (region.kind === "district") { districts[region.code] = region; }
        });
        nameShards = rows.nameShards;
        codeShards = rows.codeShards;
        villageRowId = rows.villageRowId;
        return;
      }
      shards[name] = rows.map(function (row) {
        var district = districts[row[2]] || { name: "", parent: "", url: "" };
        var parent = district.parent ? district.name + ", " + district.parent : district.name;
        return entry("village", row[0], row[1], parent, district.url + "#" + villageRowId.replace("{village_code}", row[0]));
      });
    }

    // The village shard a query needs, and whether more letters would find more villages.
    function shardFor(query) {
      if (isCodeQuery(query)) {
        var code = digits(query).slice(0, CODE_SHARD_DIGITS);
        var known = code.length === CODE_SHARD_DIGITS && codeShards.indexOf(code) >= 0;
        return { name: known ? "code-" + code : null, incomplete: false };
      }
      var longest = words(query).reduce(function (best, word) { return word.length > best.length ? word : best; }, "");
      if (longest.length < FIRST_KEY_LENGTH) { return { name: null, incomplete: longest.length > 0 }; }
      var key = null;
      var split = false;
      nameShards.forEach(function (candidate) {
        if (longest.indexOf(candidate) === 0 && (key === null || candidate.length > key.length)) { key = candidate; }
        if (candidate.length > longest.length && candidate.indexOf(longest) === 0) { split = true; }
      });
      return { name: key === null ? null : "name-" + key, incomplete: split };
    }

    function tier(item, query) {
      if (isCodeQuery(query)) {
        var wanted = digits(query);
        if (item.digits.indexOf(wanted) !== 0) { return -1; }
        return item.digits === wanted ? 0 : 1;
      }
      var queryWords = words(query);
      var matches = queryWords.every(function (queryWord) {
        return item.words.some(function (word) { return word.indexOf(queryWord) === 0; });
      });
      if (!matches) { return -1; }
      var folded = queryWords.join(" ");
      if (item.folded === folded || item.bare === folded) { return 0; }
      if (item.folded.indexOf(folded) === 0 || item.bare.indexOf(folded) === 0) { return 1; }
      return 2;
    }

    // Results for a query, best first; `missing` names a shard to load before the answer is whole.
    function search(query) {
      if (nameShards === null || !query.trim()) { return { results: [], missing: null, incomplete: false }; }
      var shard = shardFor(query);
      var candidates = regions;
      var missing = null;
      if (shard.name !== null) {
        if (shards[shard.name]) { candidates = regions.concat(shards[shard.name]); } else { missing = shard.name; }
      }
      var ranked = [];
      candidates.forEach(function (item) {
        var match = tier(item, query);
        if (match >= 0) { ranked.push({ rank: RANK[item.kind][match], item: item }); }
      });
      // Within a rank and kind: by code for a code query (neighbours stay together), by name otherwise.
      var first = isCodeQuery(query) ? "code" : "name";
      var second = first === "code" ? "name" : "code";
      ranked.sort(function (a, b) {
        return a.rank - b.rank || KIND_ORDER[a.item.kind] - KIND_ORDER[b.item.kind] ||
          compare(a.item[first], b.item[first]) || compare(a.item[second], b.item[second]);
      });
      return { results: ranked.slice(0, MAX_RESULTS).map(function (r) { return r.item; }),
               missing: missing, incomplete: shard.incomplete };
    }

    return { add: add, search: search, ready: function () { return nameShards !== null; } };
  }

  if (typeof module === "object" && module.exports) {
    module.exports = { words: words, digits: digits, createIndex: createIndex };
    return;
  }

  function attach(form, index) {
    var input = form.querySelector("#search");
    var list = document.getElementById("search-results");
    var status = document.getElementById("search-status");
    var labels = document.getElementById("search-labels");
    var root = form.getAttribute("data-root") || "";
    var requested = {};
    var active = -1;
    var goWhenReady = false;
    var waiting = true;  // the options shown lack a shard that is still loading

    function label(name) {
      var source = labels && labels.content.querySelector('[data-label="' + name + '"]');
      var span = document.createElement("span");
      if (source) { span.appendChild(source.cloneNode(true)); }
      return span;
    }

    function load(name) {
      if (requested[name]) { return; }
      requested[name] = true;
      var script = document.createElement("script");
      script.src = root + "search/" + name + ".js";
      script.onload = render;
      // A shard missing from the site (an index older than its list) must not keep the box waiting.
      script.onerror = function () { if (name !== "regions") { index.add(name, []); render(); } };
      document.head.appendChild(script);
    }

    function options() { return list.querySelectorAll('[role="option"]'); }

    function highlight(next) {
      var all = options();
      if (!all.length) { active = -1; input.removeAttribute("aria-activedescendant"); return; }
      active = (next + all.length) % all.length;  // -1 (up from the top) is the last option
      Array.prototype.forEach.call(all, function (option, position) {
        var chosen = position === active;
        option.setAttribute("aria-selected", chosen ? "true" : "false");
        option.style.background = chosen ? "#dbe7f3" : "";
      });
      input.setAttribute("aria-activedescendant", all[active].id);
      all[active].scrollIntoView({ block: "nearest" });
    }

    function go() {
      var all = options();
      if (!all.length) { return false; }
      window.location.href = all[Math.max(active, 0)].querySelector("a").href;
      return true;
    }

    function render() {
      var answer = index.search(input.value);
      if (answer.missing) { load(answer.missing); }
      list.textContent = "";
      active = -1;
      input.removeAttribute("aria-activedescendant");
      answer.results.forEach(function (item, position) {
        var option = document.createElement("li");
        option.setAttribute("role", "option");
        option.setAttribute("aria-selected", "false");
        option.id = "search-option-" + position;
        var link = document.createElement("a");
        link.href = root + item.url;
        link.tabIndex = -1;  // the input keeps the focus; arrows move through the options
        var name = document.createElement("strong");
        name.textContent = item.name;
        var details = document.createElement("span");
        details.className = "meta";
        details.appendChild(document.createTextNode(" " + item.code + " \u00b7 "));
        details.appendChild(label(item.kind));
        if (item.parent) { details.appendChild(document.createTextNode(" \u00b7 " + item.parent)); }
        link.appendChild(name);
        link.appendChild(details);
        option.appendChild(link);
        list.appendChild(option);
      });
      var open = answer.results.length > 0;
      list.hidden = !open;
      input.setAttribute("aria-expanded", open ? "true" : "false");
      status.textContent = "";
      if (input.value.trim() && !answer.missing) {
        if (answer.incomplete) { status.appendChild(label("more")); }
        else if (!open) { status.appendChild(label("none")); }
      }
      waiting = Boolean(answer.missing) || !index.ready();
      if (goWhenReady && !waiting) {
        goWhenReady = false;
        go();
      }
    }

    input.addEventListener("input", function () { goWhenReady = false; render(); });
    input.addEventListener("keydown", function (event) {
      if (event.key === "ArrowDown") { highlight(active + 1); event.preventDefault(); }
      else if (event.key === "ArrowUp") { highlight(active <= 0 ? -1 : active - 1); event.preventDefault(); }
      else if (event.key === "Escape") { list.hidden = true; input.setAttribute("aria-expanded", "false"); }
    });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      // Enter before the shard arrived: go as soon as it has, to the best option then.
      if (waiting) { goWhenReady = true; } else { go(); }
    });
    list.addEventListener("mousemove", function (event) {
      var option = event.target.closest('[role="option"]');
      if (option) { highlight(Array.prototype.indexOf.call(options(), option)); }
    });
    load("regions");
  }

  var index = createIndex();
  global.cakupanSearch = { add: function (name, rows) { index.add(name, rows); } };
  function start() {
    var form = document.querySelector('form[role="search"]');
    if (form && form.querySelector("#search")) { attach(form, index); }
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})(this);
