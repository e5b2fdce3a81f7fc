// The reviewers' site: the language switch (remembered, and restored on reload) and sortable tables.
(function () {
  var root = document.documentElement;
  var title = document.querySelector("title");

  function setLanguage(language) {
    root.setAttribute("data-lang", language);
    root.setAttribute("lang", language);
    if (title && title.dataset[language]) { document.title = title.dataset[language]; }
  }

  var saved = null;
  try { saved = localStorage.getItem("cakupan-lang"); } catch (e) { /* storage off: stay in Indonesian */ }
  if (saved === "en" || saved === "id") { setLanguage(saved); }
  var button = document.getElementById("lang");
  if (button) {
    button.addEventListener("click", function () {
      var next = root.getAttribute("data-lang") === "en" ? "id" : "en";
      setLanguage(next);
      try { localStorage.setItem("cakupan-lang", next); } catch (e) { /* not remembered, still switched */ }
    });
  }

  // Numbers sort by their data-sort value (missing values last), text by its words.
  document.querySelectorAll("table.sortable").forEach(function (table) {
    var headers = Array.prototype.slice.call(table.tHead.rows[0].cells);
    headers.forEach(function (th, index) {
      var sortButton = th.querySelector("button");
      if (!sortButton) { return; }
      sortButton.addEventListener("click", function () {
        var body = table.tBodies[0], rows = Array.prototype.slice.call(body.rows);
        var ascending = th.getAttribute("aria-sort") !== "ascending";
        function key(row) {
          var cell = row.cells[index], value = cell.getAttribute("data-sort");
          return value === null ? cell.textContent.trim() : (value === "" ? null : parseFloat(value));
        }
        rows.sort(function (a, b) {
          var x = key(a), y = key(b);
          if (x === y) { return 0; }
          if (x === null) { return 1; }
          if (y === null) { return -1; }
          return (x < y ? -1 : 1) * (ascending ? 1 : -1);
        });
        headers.forEach(function (other) { if (other.querySelector("button")) { other.setAttribute("aria-sort", "none"); } });
        th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        rows.forEach(function (row) { body.appendChild(row); });
      });
    });
  });
})();
