// Sorting and filtering of the report's tables, without a framework or a server.
//
// A click on a column heading sorts its table by that column (numbers largest first, text
// A to Z; a second click reverses). The text box hides the rows of every table that do not
// contain its text. The page address can ask for both: `#filter=Session&sort=bytes:desc`.
// When the script has run, <body> carries data-ready="true"; once the pictures have loaded,
// data-figures-loaded counts those that did.
(function () {
  "use strict";
  var tables = Array.prototype.slice.call(document.querySelectorAll("table.data"));
  var filterBox = document.getElementById("filter");
  var filterCount = document.getElementById("filter-count");

  function sortValue(row, index, numeric) {
    var cell = row.cells[index];
    var value = cell.getAttribute("data-value");
    if (value === null) value = cell.textContent.trim();
    return numeric ? Number(value) : value.toLowerCase();
  }

  function sortTable(table, index, descending) {
    var heading = table.tHead.rows[0].cells[index];
    var numeric = heading.getAttribute("data-kind") === "number";
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var order = rows.map(function (row, position) {
      return { row: row, value: sortValue(row, index, numeric), position: position };
    });
    order.sort(function (a, b) {
      var c = numeric ? a.value - b.value : a.value < b.value ? -1 : a.value > b.value ? 1 : 0;
      if (descending) c = -c;
      return c || a.position - b.position;
    });
    order.forEach(function (entry) { body.appendChild(entry.row); });
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (cell) { cell.removeAttribute("aria-sort"); });
    heading.setAttribute("aria-sort", descending ? "descending" : "ascending");
    table.setAttribute("data-sorted", heading.getAttribute("data-key") + ":" + (descending ? "desc" : "asc"));
  }

  function applyFilter(text) {
    var needle = text.trim().toLowerCase();
    var shown = 0, total = 0;
    tables.forEach(function (table) {
      var visible = 0;
      Array.prototype.forEach.call(table.tBodies[0].rows, function (row) {
        var haystack = (row.textContent + " " + (row.getAttribute("data-keywords") || "")).toLowerCase();
        row.hidden = needle !== "" && haystack.indexOf(needle) < 0;
        if (!row.hidden) visible += 1;
      });
      table.setAttribute("data-shown", String(visible));
      shown += visible;
      total += table.tBodies[0].rows.length;
    });
    if (filterCount) filterCount.textContent = needle === "" ? "" : shown + " of " + total + " rows";
  }

  tables.forEach(function (table) {
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (heading, index) {
      var button = heading.querySelector("button");
      if (!button) return;
      button.addEventListener("click", function () {
        var current = heading.getAttribute("aria-sort");
        var descending = current ? current === "ascending" : heading.getAttribute("data-kind") === "number";
        sortTable(table, index, descending);
      });
    });
  });

  function sortBy(request) {
    var parts = request.split(":");
    tables.forEach(function (table) {
      Array.prototype.forEach.call(table.tHead.rows[0].cells, function (heading, index) {
        if (heading.getAttribute("data-key") !== parts[0]) return;
        var descending = parts[1] ? parts[1] === "desc" : heading.getAttribute("data-kind") === "number";
        sortTable(table, index, descending);
      });
    });
  }

  function fromAddress() {
    var hash = window.location.hash.slice(1);
    if (hash.indexOf("=") < 0) return;
    hash.split("&").forEach(function (pair) {
      var at = pair.indexOf("=");
      var key = decodeURIComponent(pair.slice(0, at));
      var value = decodeURIComponent(pair.slice(at + 1).replace(/\+/g, " "));
      if (key === "filter" && filterBox) filterBox.value = value;
      if (key === "sort") sortBy(value);
    });
    if (filterBox) applyFilter(filterBox.value);
  }

  if (filterBox) {
    filterBox.addEventListener("input", function () { applyFilter(filterBox.value); });
  }
  window.addEventListener("hashchange", fromAddress);
  fromAddress();
  document.body.setAttribute("data-ready", "true");

  window.addEventListener("load", function () {
    var loaded = Array.prototype.filter.call(document.querySelectorAll("figure img"), function (image) {
      return image.complete && image.naturalWidth > 0;
    });
    document.body.setAttribute("data-figures-loaded", String(loaded.length));
  });
})();
