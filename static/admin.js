/* autowebinar-wp admin dashboard: the funnel, the audience-retention curve, a sortable table.
 *
 * The admin token comes in the URL fragment (/admin#token=…): browsers never send a
 * fragment to a server, so it stays out of logs and Referers. It is read once, kept in
 * memory only and removed from the address bar; every request sends it as a bearer token
 * (the CSV too: fetched, then saved from a blob). A refused token (401/403) replaces the
 * dashboard with the reason. Everything is built with DOM calls and textContent: no HTML
 * from data. Other panels join through window.awAdmin.addSection(load). */
(function () {
  "use strict";

  var cfg = JSON.parse(document.getElementById("aw-admin-config").textContent);
  var t = cfg.i18n;
  var token = new URLSearchParams(window.location.hash.replace(/^#/, "")).get("token");
  if (window.location.hash) {
    try {
      window.history.replaceState(null, "", window.location.pathname + window.location.search);
    } catch (e) { /* ignore */ }
  }

  var SVG = "http://www.w3.org/2000/svg";
  var state = { page: 1, perPage: cfg.perPage, sort: "last_seen", order: "desc", pages: 1, busy: false };
  var numbers = new Intl.NumberFormat(cfg.locale);
  var percent = new Intl.NumberFormat(cfg.locale, { style: "percent", maximumFractionDigits: 1 });
  var dates = new Intl.DateTimeFormat(cfg.locale, { dateStyle: "medium", timeStyle: "short" });
  var sections = [];
  var computedAt = null;
  var polling = null;

  function $(id) { return document.getElementById(id); }

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (m, name) {
      return Object.prototype.hasOwnProperty.call(values, name) ? String(values[name]) : m;
    });
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined && text !== null) { node.textContent = text; }
    return node;
  }

  function svg(tag, attrs, text) {
    var node = document.createElementNS(SVG, tag);
    Object.keys(attrs || {}).forEach(function (name) { node.setAttribute(name, String(attrs[name])); });
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  function clear(node) { while (node.firstChild) { node.removeChild(node.firstChild); } }

  function status(message) {
    var box = $("aw-status");
    box.textContent = message || "";
    box.hidden = !message;
  }

  // ---- talking to the API --------------------------------------------------------------------

  function ApiError(status, code) { this.status = status; this.code = code; }

  function request(path, options) {
    options = options || {};
    var query = options.params ? "?" + new URLSearchParams(options.params).toString() : "";
    return fetch(path + query, {
      method: options.method || "GET",
      headers: { "Authorization": "Bearer " + token, "Accept": options.accept || "application/json" },
      cache: "no-store",
      credentials: "omit"
    }).then(function (response) {
      if (response.ok) { return response; }
      return response.json().catch(function () { return {}; }).then(function (body) {
        throw new ApiError(response.status, body && body.error ? body.error.code : null);
      });
    });
  }

  function api(path, params) {
    return request(path, { params: params }).then(function (r) { return r.json(); }).then(noteFreshness);
  }

  // 401 and 403 mean this link cannot show the dashboard: say why, instead of the panels.
  function deny(reason) {
    var box = $("aw-denied");
    if (!box) {  // made only when needed: a working dashboard has no error element at all
      box = el("section", "aw-screen aw-error");
      box.id = "aw-denied";
      box.setAttribute("role", "alert");
      box.setAttribute("data-testid", "error");
      $("aw-sections").before(box);
    }
    box.textContent = "";
    box.appendChild(el("p", null, t[reason]));
    $("aw-sections").hidden = true;
    $("aw-refresh").hidden = true;
    $("aw-as-of").textContent = "";
    status("");
    if (polling) { window.clearTimeout(polling); polling = null; }
  }

  function failed(error) {
    if (error && error.status === 401) {
      deny(error.code === "token_expired" ? "expired" : "noToken");
    } else if (error && error.status === 403) {
      deny("forbidden");
    } else {
      status(t.failed);
    }
  }

  // ---- "as of …", refresh ----------------------------------------------------------------------

  function noteFreshness(data) {
    if (data && data.computed_at) {
      computedAt = data.computed_at;
      var text = fill(t.asOf, { time: dates.format(new Date(data.computed_at)) });
      if (data.stale || data.refreshing) { text += " · " + t.staleNote; }
      $("aw-as-of").textContent = text;
      if (data.refreshing) { waitForRebuild(); }
    }
    return data;
  }

  // A rebuild runs in the background: look again until its snapshot replaces this one.
  function waitForRebuild() {
    if (polling) { return; }
    var before = computedAt;
    $("aw-refresh").disabled = true;
    function check() {
      request(cfg.api.funnel).then(function (r) { return r.json(); }).then(function (data) {
        if (data.computed_at !== before || !data.refreshing) {
          polling = null;
          $("aw-refresh").disabled = false;
          loadAll();
        } else {
          polling = window.setTimeout(check, 2000);
        }
      }).catch(function (error) { polling = null; $("aw-refresh").disabled = false; failed(error); });
    }
    polling = window.setTimeout(check, 1500);
  }

  function refresh() {
    status("");
    $("aw-refresh").disabled = true;
    $("aw-as-of").textContent = t.refreshing;
    request(cfg.api.refresh, { method: "POST" }).then(function () {
      waitForRebuild();
    }).catch(function (error) { $("aw-refresh").disabled = false; failed(error); });
  }

  // ---- the funnel ---------------------------------------------------------------------------

  function rate(value) { return value === null || value === undefined ? "—" : percent.format(value); }

  function bar(share) {
    var node = svg("svg", { "class": "aw-bar", viewBox: "0 0 100 10", preserveAspectRatio: "none",
                            "aria-hidden": "true", focusable: "false" });
    node.appendChild(svg("rect", { "class": "aw-bar-track", width: 100, height: 10 }));
    node.appendChild(svg("rect", { "class": "aw-bar-fill", height: 10,
                                   width: Math.max(0, Math.min(100, share * 100)) }));
    return node;
  }

  function renderFunnel(data) {
    var stages = [
      ["sessions", t.sessions], ["joined", t.joined],
      ["reached_25", fill(t.reached, { percent: 25 })], ["reached_50", fill(t.reached, { percent: 50 })],
      ["reached_75", fill(t.reached, { percent: 75 })], ["reached_100", fill(t.reached, { percent: 100 })],
      ["completed", t.completed], ["cta_clicks", t.ctaClicks]
    ];
    var chart = $("aw-funnel-chart");
    clear(chart);
    stages.forEach(function (stage) {
      var count = data[stage[0]] || 0;
      var share = data.sessions ? count / data.sessions : 0;
      var item = el("li", "aw-stage");
      item.setAttribute("data-stage", stage[0]);
      item.appendChild(el("span", "aw-stage-label", stage[1]));
      item.appendChild(bar(share));
      var value = el("span", "aw-stage-value", numbers.format(count));
      if (stage[0] !== "sessions") {
        value.appendChild(el("small", "aw-stage-share", fill(t.ofSessions, { rate: rate(data.sessions ? share : null) })));
      }
      item.appendChild(value);
      chart.appendChild(item);
    });
    chart.setAttribute("aria-busy", "false");

    var rates = $("aw-rates");
    clear(rates);
    [["joined_per_session", t.joinedPerSession], ["completed_per_joined", t.completedPerJoined],
     ["cta_per_joined", t.ctaPerJoined], ["cta_per_session", t.ctaPerSession]].forEach(function (r) {
      var group = el("div", "aw-rate");
      group.appendChild(el("dt", null, r[1]));
      group.appendChild(el("dd", null, rate(data.rates[r[0]])));
      rates.appendChild(group);
    });
  }

  function loadFunnel() { return api(cfg.api.funnel).then(renderFunnel); }

  // ---- the retention curve ------------------------------------------------------------------

  function clock(sec) {
    sec = Math.max(0, Math.floor(sec || 0));
    var h = Math.floor(sec / 3600), m = Math.floor((sec % 3600) / 60), s = sec % 60;
    var mm = h ? String(m).padStart(2, "0") : String(m);
    return (h ? h + ":" : "") + mm + ":" + String(s).padStart(2, "0");
  }

  function share(value) { return value === null || value === undefined ? "—" : percent.format(value / 100); }

  // The value of the curve at `sec`: viewers whose final position is at least `sec`, read
  // from the points around it (the curve only ever falls).
  function percentAt(points, sec) {
    for (var i = 0; i < points.length; i++) {
      if (points[i].t >= sec) { return points[i].percent; }
    }
    return points.length ? points[points.length - 1].percent : null;
  }

  function niceStep(duration) {
    var steps = [60, 120, 300, 600, 900, 1200, 1800, 3600, 7200];
    for (var i = 0; i < steps.length; i++) { if (duration / steps[i] <= 8) { return steps[i]; } }
    return Math.ceil(duration / 8);
  }

  function drawRetention(data) {
    var box = $("aw-retention-chart");
    clear(box);
    var body = $("aw-retention-body");
    clear(body);
    if (!data.joined) {
      box.appendChild(el("p", "aw-muted", t.noJoined));
      $("aw-retention-summary").textContent = "";
      box.setAttribute("aria-busy", "false");
      return;
    }
    var W = 960, H = 300, left = 48, right = 16, top = 14, bottom = 34;
    var plotW = W - left - right, plotH = H - top - bottom;
    var duration = Math.max(1, data.duration_sec);
    function x(sec) { return left + plotW * sec / duration; }
    function y(pct) { return top + plotH * (1 - pct / 100); }
    var last = data.points[data.points.length - 1];
    var atCta = percentAt(data.points, data.cta_at_sec);
    var summary = fill(t.retentionSummary, {
      joined: numbers.format(data.joined), end: numbers.format(last.viewers), percent: share(last.percent)
    }) + " " + fill(t.ctaAt, { time: clock(data.cta_at_sec) }) + ": " + share(atCta) + ".";

    var chart = svg("svg", { viewBox: "0 0 " + W + " " + H, role: "img", "class": "aw-curve",
                             "aria-labelledby": "aw-curve-title aw-curve-desc" });
    chart.appendChild(svg("title", { id: "aw-curve-title" }, $("aw-retention-title").textContent));
    chart.appendChild(svg("desc", { id: "aw-curve-desc" }, summary));
    [0, 25, 50, 75, 100].forEach(function (pct) {
      chart.appendChild(svg("line", { "class": "aw-grid", x1: left, x2: W - right, y1: y(pct), y2: y(pct) }));
      chart.appendChild(svg("text", { "class": "aw-axis", x: left - 6, y: y(pct) + 4, "text-anchor": "end" },
                            percent.format(pct / 100)));
    });
    var step = niceStep(duration);
    for (var sec = 0; sec <= duration; sec += step) {
      var edge = sec === 0 ? "start" : (duration - sec < step / 2 ? "end" : "middle");
      chart.appendChild(svg("text", { "class": "aw-axis", x: x(sec), y: H - bottom + 16, "text-anchor": edge },
                            clock(sec)));
    }
    chart.appendChild(svg("text", { "class": "aw-axis aw-axis-title", x: left + plotW / 2, y: H - 2,
                                    "text-anchor": "middle" }, t.minute));
    var line = data.points.map(function (p) { return x(p.t).toFixed(1) + "," + y(p.percent).toFixed(1); });
    chart.appendChild(svg("polygon", { "class": "aw-curve-area",
      points: x(0).toFixed(1) + "," + y(0) + " " + line.join(" ") + " " + x(last.t).toFixed(1) + "," + y(0) }));
    chart.appendChild(svg("polyline", { "class": "aw-curve-line", points: line.join(" ") }));
    if (data.cta_at_sec <= duration) {
      var cx = x(data.cta_at_sec);
      var marker = svg("g", { "class": "aw-cta-mark", "data-testid": "cta-mark" });
      marker.appendChild(svg("line", { x1: cx, x2: cx, y1: top, y2: top + plotH }));
      marker.appendChild(svg("circle", { cx: cx, cy: y(atCta || 0), r: 4 }));
      var label = t.cta + " " + clock(data.cta_at_sec) + " · " + share(atCta);
      var anchor = cx > left + plotW * 0.75 ? "end" : "start";
      marker.appendChild(svg("text", { x: anchor === "end" ? cx - 6 : cx + 6, y: top + 12,
                                       "text-anchor": anchor }, label));
      chart.appendChild(marker);
    }
    box.appendChild(chart);
    box.setAttribute("aria-busy", "false");
    $("aw-retention-summary").textContent = summary;

    var ctaRow = data.points.findIndex(function (p) { return p.t >= data.cta_at_sec; });
    data.points.forEach(function (p, index) {
      var row = el("tr");
      var when = el("td", "aw-num", clock(p.t));
      if (index === ctaRow) {
        when.appendChild(el("small", "aw-note", fill(t.ctaAt, { time: clock(data.cta_at_sec) })));
      }
      row.appendChild(when);
      row.appendChild(el("td", "aw-num", numbers.format(p.viewers)));
      row.appendChild(el("td", "aw-num", share(p.percent)));
      body.appendChild(row);
    });
  }

  function loadRetention() {
    return api(cfg.api.retention, { bucket_sec: cfg.bucketSec }).then(drawRetention);
  }

  // ---- the table ----------------------------------------------------------------------------

  function when(iso, fallback) { return iso ? dates.format(new Date(iso)) : fallback; }

  function userCell(id) {
    var cell = el("td", "aw-num");
    if (cfg.userEditUrl) {
      var link = el("a", null, "#" + id);
      link.href = cfg.userEditUrl + encodeURIComponent(String(id));
      link.target = "_top";
      link.rel = "noopener";
      link.title = fill(t.editUser, { id: id });
      cell.appendChild(link);
    } else {
      cell.textContent = String(id);
    }
    return cell;
  }

  function renderRows(data) {
    var body = $("aw-users-body");
    clear(body);
    if (!data.rows.length) {
      var row = el("tr");
      var cell = el("td", "aw-muted", t.empty);
      cell.colSpan = 7;
      row.appendChild(cell);
      body.appendChild(row);
    }
    data.rows.forEach(function (r) {
      var row = el("tr");
      row.appendChild(userCell(r.user_id));
      row.appendChild(el("td", null, when(r.started_at, "—")));
      var seen = el("td", null, when(r.last_seen_at, t.never));
      if (r.last_seen_at && !r.joined) { seen.appendChild(el("small", "aw-note", t.notJoined)); }
      row.appendChild(seen);
      row.appendChild(el("td", "aw-num", clock(r.position_sec)));
      var progress = el("td", "aw-num");
      progress.appendChild(el("span", "aw-pill aw-pill-" + r.progress_percent, r.progress_percent + "%"));
      row.appendChild(progress);
      row.appendChild(el("td", null, r.completed ? t.yes : t.no));
      row.appendChild(el("td", null, when(r.cta_clicked_at, "—")));
      body.appendChild(row);
    });
    state.pages = data.pages;
    $("aw-total").textContent = fill(t.usersTotal, { total: numbers.format(data.total) });
    $("aw-page-status").textContent = fill(t.pageOf, { page: numbers.format(data.page), pages: numbers.format(data.pages) });
    $("aw-prev").disabled = data.page <= 1;
    $("aw-next").disabled = data.page >= data.pages;
    document.querySelectorAll("th[data-sort]").forEach(function (th) {
      var active = th.getAttribute("data-sort") === state.sort;
      th.setAttribute("aria-sort", active ? (state.order === "asc" ? "ascending" : "descending") : "none");
    });
  }

  function loadPage() {
    state.busy = true;
    $("aw-users-table").setAttribute("aria-busy", "true");
    return api(cfg.api.progress, {
      page: state.page, per_page: state.perPage, sort: state.sort, order: state.order
    }).then(renderRows).finally(function () {
      state.busy = false;
      $("aw-users-table").setAttribute("aria-busy", "false");
    });
  }

  function go(change) {
    if (state.busy) { return; }
    change();
    status("");
    loadPage().catch(failed);
  }

  // The CSV needs the bearer token too: fetch it, then save the blob under the server's name.
  function download() {
    var button = $("aw-export");
    button.disabled = true;
    status(t.downloading);
    request(cfg.api.export, { accept: "text/csv" }).then(function (response) {
      var found = /filename="([^"]+)"/.exec(response.headers.get("Content-Disposition") || "");
      return response.blob().then(function (blob) {
        var link = el("a");
        link.href = URL.createObjectURL(blob);
        link.download = found ? found[1] : "autowebinar-progress.csv";
        document.body.appendChild(link);
        link.click();
        link.remove();
        window.setTimeout(function () { URL.revokeObjectURL(link.href); }, 10000);
        status("");
      });
    }).catch(failed).finally(function () { button.disabled = false; });
  }

  // ---- wiring -------------------------------------------------------------------------------

  function loadAll() {
    status("");
    return Promise.all(sections.map(function (load) { return load(); })).catch(failed);
  }

  document.querySelectorAll("th[data-sort] button").forEach(function (button) {
    button.addEventListener("click", function () {
      var sort = button.parentNode.getAttribute("data-sort");
      go(function () {
        if (state.sort === sort) {
          state.order = state.order === "desc" ? "asc" : "desc";
        } else {
          state.sort = sort;
          state.order = "desc";
        }
        state.page = 1;
      });
    });
  });
  $("aw-prev").addEventListener("click", function () {
    go(function () { state.page = Math.max(1, state.page - 1); });
  });
  $("aw-next").addEventListener("click", function () {
    go(function () { state.page = Math.min(state.pages, state.page + 1); });
  });
  var perPage = $("aw-per-page");
  cfg.perPageChoices.forEach(function (n) {
    var option = el("option", null, String(n));
    option.value = String(n);
    option.selected = n === state.perPage;
    perPage.appendChild(option);
  });
  perPage.addEventListener("change", function () {
    go(function () { state.perPage = parseInt(perPage.value, 10); state.page = 1; });
  });
  $("aw-export").addEventListener("click", download);
  $("aw-refresh").addEventListener("click", refresh);
  try {
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (zone) { $("aw-time-zone").textContent = fill(t.timeZone, { zone: zone }); }
  } catch (e) { /* ignore */ }

  // Other panels (their own template and script) join here; they load with the rest and
  // again after a refresh.
  window.awAdmin = {
    api: api,
    i18n: t,
    fill: fill,
    el: el,
    clear: clear,
    addSection: function (load) {
      sections.push(load);
      if (token) { load().catch(failed); }
    }
  };
  sections.push(loadFunnel, loadRetention, loadPage);

  if (!token) {
    deny("noToken");
    return;
  }
  $("aw-refresh").disabled = false;
  loadAll();
}());
