(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("findings-data").textContent);
  var table = document.getElementById("findings-table");
  var tbody = document.getElementById("findings-body");
  var PAGE = +tbody.getAttribute("data-page") || 500;
  var LAZY = 2000;
  // Every row, in the order the page opened with (most waste first); rows not listed are
  // kept here, out of the document.
  var all = Array.prototype.slice.call(tbody.children);
  var opening = {};
  for (var o = 0; o < all.length; o++) { opening[all[o].getAttribute("data-i")] = o; }
  var order = all.slice();
  var limit = PAGE, printing = false;
  var hay = data.map(function (d) { return (d[3] + " " + d[4] + " " + d[5] + " " + d[9] + " " + d[2]).toLowerCase(); });
  var show = document.querySelectorAll(".nojs-hide");
  for (var i = 0; i < show.length; i++) { show[i].classList.remove("nojs-hide"); }
  var f = {
    rule: document.getElementById("f-rule"), severity: document.getElementById("f-severity"),
    dag: document.getElementById("f-dag"), fix: document.getElementById("f-fix"),
    text: document.getElementById("f-text")
  };
  var count = document.getElementById("count");
  var foot = document.getElementById("table-foot");
  var moreButton = document.getElementById("show-more");
  var allButton = document.getElementById("show-all");
  var noMatch = document.getElementById("no-match");
  var status = document.getElementById("chart-status");
  var bars = document.querySelectorAll("[data-dag-filter]");
  var numberFormat = function (n) { return n.toLocaleString("en-US"); };

  function matches(row) {
    var i = +row.getAttribute("data-i"), d = data[i];
    var rule = f.rule.value, sev = f.severity.value, dag = f.dag.value, fix = f.fix.value;
    var text = f.text.value.trim().toLowerCase();
    return (!rule || d[0] === rule) && (!sev || d[1] === sev) && (!dag || d[11] === dag) &&
           (!fix || d[8] === fix) && (!text || hay[i].indexOf(text) !== -1);
  }

  function render() {
    var listed = [], total = 0;
    for (var r = 0; r < order.length; r++) {
      if (matches(order[r])) {
        total++;
        if (printing || listed.length < limit) { listed.push(order[r]); }
      }
    }
    var frag = document.createDocumentFragment();
    for (var k = 0; k < listed.length; k++) { frag.appendChild(listed[k]); }
    tbody.textContent = "";
    tbody.appendChild(frag);
    // Rows beyond what a browser lays out quickly are skipped until scrolled to (screen only).
    table.classList.toggle("lazy", listed.length > LAZY);
    var of = total === all.length ? numberFormat(total) + " findings" :
      numberFormat(total) + " of " + numberFormat(all.length) + " findings";
    count.textContent = listed.length < total ? "Listing " + numberFormat(listed.length) + " of " + of : of;
    foot.hidden = listed.length >= total;
    moreButton.textContent = "Show " + numberFormat(Math.min(PAGE, total - listed.length)) + " more";
    allButton.textContent = "Show all " + numberFormat(total);
    noMatch.hidden = total > 0;
    dagStatus(total);
  }

  function dagStatus(total) {
    var key = f.dag.value;
    for (var b = 0; b < bars.length; b++) {
      var on = bars[b].getAttribute("data-dag-filter") === key;
      bars[b].classList.toggle("active", on);
      bars[b].setAttribute("aria-current", on ? "true" : "false");
    }
    if (!status) { return; }
    if (!key) { status.hidden = true; return; }
    var name = f.dag.options[f.dag.selectedIndex].textContent;
    status.hidden = false;
    status.querySelector("[data-dag-name]").textContent = name;
    status.querySelector("[data-dag-count]").textContent = numberFormat(total) + (total === 1 ? " finding" : " findings");
  }

  function refilter() { limit = PAGE; render(); }
  var timer = null;
  function later() { clearTimeout(timer); timer = setTimeout(refilter, 120); }
  f.rule.onchange = f.severity.onchange = f.dag.onchange = f.fix.onchange = refilter;
  f.text.oninput = later;
  moreButton.addEventListener("click", function () { limit += PAGE; render(); });
  allButton.addEventListener("click", function () { limit = Infinity; render(); });
  function clearDag() { f.dag.value = ""; refilter(); }
  var clears = document.querySelectorAll("[data-clear-dag]");
  for (var c = 0; c < clears.length; c++) { clears[c].addEventListener("click", clearDag); }
  document.getElementById("clear-filters").addEventListener("click", function () {
    f.rule.value = f.severity.value = f.dag.value = f.fix.value = f.text.value = ""; refilter();
  });

  // Numbers sort largest first on the first click, text A to Z; a second click reverses.
  var headers = document.querySelectorAll("#findings-table .head > div");
  var sevRank = {error: 0, warning: 1, info: 2};
  function key(d, col) {
    if (col === 1) { return sevRank[d[1]]; }
    if (col === 5) { return d[5] + ":" + ("000000" + d[6]).slice(-7); }
    return d[col];
  }
  for (var h = 0; h < headers.length; h++) {
    headers[h].tabIndex = 0;
    headers[h].addEventListener("keydown", function (event) {
      if (event.key === "Enter" || event.key === " ") { event.preventDefault(); event.currentTarget.click(); }
    });
    headers[h].addEventListener("click", function (event) {
      var th = event.currentTarget, col = +th.getAttribute("data-col");
      var now = th.getAttribute("aria-sort");
      var numeric = th.hasAttribute("data-num");
      var dir = now === "ascending" ? -1 : now === "descending" ? 1 : numeric ? -1 : 1;
      for (var k = 0; k < headers.length; k++) { headers[k].removeAttribute("aria-sort"); }
      th.setAttribute("aria-sort", dir === 1 ? "ascending" : "descending");
      order.sort(function (a, b) {
        var p = key(data[+a.getAttribute("data-i")], col), q = key(data[+b.getAttribute("data-i")], col);
        var tie = opening[a.getAttribute("data-i")] - opening[b.getAttribute("data-i")];
        // Findings with no number (no cost) stay last either way.
        if (p === null || p === undefined) { return q === null || q === undefined ? tie : 1; }
        if (q === null || q === undefined) { return -1; }
        return (p < q ? -1 : p > q ? 1 : 0) * dir || tie;
      });
      render();
    });
  }

  for (var l = 0; l < bars.length; l++) {
    bars[l].addEventListener("click", function (event) {
      event.preventDefault();
      var key = event.currentTarget.getAttribute("data-dag-filter");
      f.dag.value = f.dag.value === key ? "" : key;
      refilter();
    });
  }

  // Print every matching row and the whole fix-first list (the diffs stay as they are: open
  // the ones to print), then go back to the page as it was.
  var opened = [];
  window.addEventListener("beforeprint", function () {
    printing = true; render();
    var closed = document.querySelectorAll("details.more-ff:not([open])");
    for (var d = 0; d < closed.length; d++) { closed[d].open = true; opened.push(closed[d]); }
  });
  window.addEventListener("afterprint", function () {
    printing = false; render();
    while (opened.length) { opened.pop().open = false; }
  });

  var buttons = document.querySelectorAll("button.copy");
  for (var b = 0; b < buttons.length; b++) {
    buttons[b].addEventListener("click", function (event) {
      var source = event.currentTarget.parentNode.querySelector(".copyable");
      if (navigator.clipboard) { navigator.clipboard.writeText(source.textContent); }
      event.currentTarget.textContent = "Copied";
    });
  }
  render();
  document.documentElement.setAttribute("data-ready", "1");
})();
