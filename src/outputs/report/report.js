// report.html findings table: search, filters, sort and paging over the embedded JSON.
// Rows are built with textContent only (never parsed as markup): directory values stay text.
(function () {
  "use strict";
  var blob = document.getElementById("findings-data");
  if (!blob) { return; }
  var all;
  try { all = JSON.parse(blob.textContent); } catch (e) { return; }

  var SEV = { critical: 5, high: 4, medium: 3, low: 2, info: 1 };
  // A baseline status appears on findings once scheduled audits set it; the column shows then.
  var statusKey = ["status", "baseline_status", "baseline"].filter(function (k) {
    return all.some(function (f) { return typeof f[k] === "string"; });
  })[0];

  // Suppressed findings carry "muted": true; they are hidden unless asked for, as in the counts.
  var hasMuted = all.some(function (f) { return f.muted === true; });

  var columns = [
    { key: "severity", label: "Severity", sort: function (f) { return SEV[f.severity] || 0; } },
    { key: "rule", label: "Rule" },
    { key: "predicted_outcome", label: "Predicted outcome" },
    { key: "cloud", label: "Cloud object", sort: function (f) { return f.cloud_object_id || ""; } },
    { key: "onprem", label: "On-prem object", sort: function (f) { return f.onprem_distinguished_name || f.onprem_object_guid || ""; } },
    { key: "attribute", label: "Attribute = value", sort: function (f) { return (f.attribute || "") + "\u0000" + (f.value || ""); } },
    { key: "message", label: "Message" },
    { key: "remediation", label: "Remediation" }
  ];
  if (statusKey || hasMuted) {
    columns.splice(1, 0, { key: "__status", label: "Status", sort: function (f) { return (f.muted ? "muted " : "") + (statusKey ? f[statusKey] || "" : ""); } });
  }

  // One lower-cased haystack per finding, built once: filtering 50,000 rows per keystroke then
  // costs one indexOf each.
  for (var i = 0; i < all.length; i++) {
    var f = all[i];
    var ev = f.evidence ? Object.keys(f.evidence).map(function (k) { return k + "=" + f.evidence[k]; }).join(" ") : "";
    f.__hay = [f.id, f.rule, f.severity, f.cloud_object_id, f.cloud_object_type, f.onprem_object_guid,
      f.onprem_distinguished_name, f.attribute, f.value, f.message, f.remediation, f.predicted_outcome, ev,
      statusKey ? f[statusKey] : ""].join("\u0001").toLowerCase();
    f.__order = i;
  }

  var $ = function (id) { return document.getElementById(id); };
  var state = { q: "", severity: "", rule: "", status: "", muted: "hide", sortKey: null, sortDir: 1, page: 0, size: 100 };
  var view = all;

  function text(tag, value, cls) {
    var el = document.createElement(tag);
    if (cls) { el.className = cls; }
    el.textContent = value == null ? "" : String(value);
    return el;
  }

  function head() {
    var tr = $("findings-head");
    tr.textContent = "";
    columns.forEach(function (c) {
      var th = document.createElement("th");
      th.scope = "col";
      if (state.sortKey === c.key) { th.setAttribute("aria-sort", state.sortDir > 0 ? "ascending" : "descending"); }
      var b = text("button", c.label);
      b.type = "button";
      b.addEventListener("click", function () {
        if (state.sortKey === c.key) { state.sortDir = -state.sortDir; } else { state.sortKey = c.key; state.sortDir = c.key === "severity" ? -1 : 1; }
        apply(false);
      });
      th.appendChild(b);
      tr.appendChild(th);
    });
  }

  function cell(f, key) {
    var td = document.createElement("td");
    if (key === "severity") {
      td.appendChild(text("span", f.severity, "pill sev-" + f.severity));
    } else if (key === "__status") {
      if (statusKey && f[statusKey]) { td.appendChild(text("div", f[statusKey], "status status-" + f[statusKey])); }
      if (f.muted) {
        td.appendChild(text("div", "muted", "status status-muted"));
        var s = f.suppression || {};
        if (s.reason || s.expires) { td.appendChild(text("div", (s.reason || "") + (s.expires ? " (until " + s.expires + ")" : ""), "note")); }
      }
    } else if (key === "rule") {
      td.appendChild(text("code", f.rule));
    } else if (key === "cloud") {
      td.appendChild(text("div", f.cloud_object_id || "\u2014", "mono"));
      if (f.cloud_object_type) { td.appendChild(text("div", f.cloud_object_type, "note")); }
    } else if (key === "onprem") {
      td.className = "wrap-text";
      if (f.onprem_distinguished_name) { td.appendChild(text("div", f.onprem_distinguished_name)); }
      if (f.onprem_object_guid) { td.appendChild(text("div", f.onprem_object_guid, "note mono")); }
      if (!f.onprem_distinguished_name && !f.onprem_object_guid) { td.textContent = "\u2014"; }
    } else if (key === "attribute") {
      td.className = "wrap-text";
      if (f.attribute) { td.appendChild(text("code", f.attribute)); }
      if (f.value) { td.appendChild(document.createTextNode(" = ")); td.appendChild(text("span", f.value, "mono")); }
    } else if (key === "message") {
      td.className = "wrap-text message";
      td.appendChild(text("div", f.message));
      if (f.evidence) {
        var keys = Object.keys(f.evidence);
        if (keys.length) {
          td.appendChild(text("div", keys.map(function (k) { return k + ": " + f.evidence[k]; }).join(" \u00b7 "), "note"));
        }
      }
    } else {
      td.className = "wrap-text";
      td.textContent = f[key] == null ? "" : String(f[key]);
    }
    return td;
  }

  function apply(resetPage) {
    var q = state.q.toLowerCase().trim();
    var terms = q ? q.split(/\s+/) : [];
    view = all.filter(function (f) {
      if (state.severity && f.severity !== state.severity) { return false; }
      if (state.rule && f.rule !== state.rule) { return false; }
      if (state.status && f[statusKey] !== state.status) { return false; }
      if (hasMuted && state.muted === "hide" && f.muted === true) { return false; }
      if (hasMuted && state.muted === "only" && f.muted !== true) { return false; }
      for (var t = 0; t < terms.length; t++) { if (f.__hay.indexOf(terms[t]) < 0) { return false; } }
      return true;
    });
    if (state.sortKey) {
      var col = columns.filter(function (c) { return c.key === state.sortKey; })[0];
      var get = col.sort || function (f) { return f[col.key] == null ? "" : String(f[col.key]); };
      var dir = state.sortDir;
      view = view.map(function (f) { return [get(f), f]; });
      view.sort(function (a, b) {
        var x = a[0], y = b[0];
        var c = typeof x === "number" ? x - y : String(x).localeCompare(String(y), undefined, { numeric: true, sensitivity: "base" });
        return c * dir || a[1].__order - b[1].__order;
      });
      view = view.map(function (p) { return p[1]; });
    }
    if (resetPage) { state.page = 0; }
    head();
    render();
  }

  function render() {
    var pages = Math.max(1, Math.ceil(view.length / state.size));
    state.page = Math.min(Math.max(0, state.page), pages - 1);
    var start = state.page * state.size;
    var rows = view.slice(start, start + state.size);
    var body = $("findings-body");
    var frag = document.createDocumentFragment();
    rows.forEach(function (f) {
      var tr = document.createElement("tr");
      columns.forEach(function (c) { tr.appendChild(cell(f, c.key)); });
      frag.appendChild(tr);
    });
    body.textContent = "";
    body.appendChild(frag);
    var shown = view.length ? (start + 1) + "\u2013" + (start + rows.length) : "0";
    $("count").textContent = "Showing " + shown + " of " + view.length.toLocaleString("en-US") +
      (view.length !== all.length ? " (filtered from " + all.length.toLocaleString("en-US") + ")" : "");
    $("page-info").textContent = "page " + (state.page + 1) + " of " + pages;
    $("first").disabled = $("prev").disabled = state.page === 0;
    $("next").disabled = $("last").disabled = state.page >= pages - 1;
  }

  if (statusKey) {
    var statuses = {};
    all.forEach(function (f) { if (f[statusKey]) { statuses[f[statusKey]] = (statuses[f[statusKey]] || 0) + 1; } });
    Object.keys(statuses).sort().forEach(function (s) {
      var o = text("option", s + " (" + statuses[s] + ")");
      o.value = s;
      $("f-status").appendChild(o);
    });
    $("f-status-label").hidden = false;
  }

  if (hasMuted) { $("f-muted-label").hidden = false; }

  var timer = null;
  $("q").addEventListener("input", function (e) {
    clearTimeout(timer);
    timer = setTimeout(function () { state.q = e.target.value; apply(true); }, 120);
  });
  $("f-severity").addEventListener("change", function (e) { state.severity = e.target.value; apply(true); });
  $("f-rule").addEventListener("change", function (e) { state.rule = e.target.value; apply(true); });
  $("f-status").addEventListener("change", function (e) { state.status = e.target.value; apply(true); });
  $("f-muted").addEventListener("change", function (e) { state.muted = e.target.value; apply(true); });
  $("page-size").addEventListener("change", function (e) { state.size = Number(e.target.value) || 100; apply(true); });
  $("first").addEventListener("click", function () { state.page = 0; render(); });
  $("prev").addEventListener("click", function () { state.page -= 1; render(); });
  $("next").addEventListener("click", function () { state.page += 1; render(); });
  $("last").addEventListener("click", function () { state.page = Infinity; render(); });
  Array.prototype.forEach.call(document.querySelectorAll(".show-in-table"), function (a) {
    a.addEventListener("click", function () {
      state.rule = a.getAttribute("data-rule");
      $("f-rule").value = state.rule;
      apply(true);
    });
  });
  // Paper shows what is folded on screen.
  window.addEventListener("beforeprint", function () {
    Array.prototype.forEach.call(document.querySelectorAll("details"), function (d) { d.open = true; });
  });

  $("controls").hidden = false;
  $("findings-table").hidden = false;
  $("pager").hidden = false;
  apply(true);
})();
