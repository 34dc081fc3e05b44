/* autowebinar-wp admin dashboard: the funnel as bars and a sortable, paginated table.
 * Data comes from the JSON API with the admin token as a bearer token; the token lives in
 * memory only (removed from the address bar below; the app sends Referrer-Policy:
 * no-referrer). Everything is built with DOM calls and textContent: no HTML from data. */
(function () {
  "use strict";

  var cfg = JSON.parse(document.getElementById("aw-admin-config").textContent);
  var token = cfg.token;
  var t = cfg.i18n;
  try { window.history.replaceState(null, "", window.location.pathname); } catch (e) { /* ignore */ }

  var SVG = "http://www.w3.org/2000/svg";
  var state = { page: 1, perPage: cfg.perPage, sort: "last_seen", order: "desc", pages: 1, busy: false };
  var numbers = new Intl.NumberFormat(cfg.locale);
  var percent = new Intl.NumberFormat(cfg.locale, { style: "percent", maximumFractionDigits: 1 });
  var dates = new Intl.DateTimeFormat(cfg.locale, { dateStyle: "medium", timeStyle: "short" });

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

  function clear(node) { while (node.firstChild) { node.removeChild(node.firstChild); } }

  function status(message) {
    var box = $("aw-status");
    box.textContent = message || "";
    box.hidden = !message;
  }

  function ApiError(status) { this.status = status; }

  function api(path, params) {
    var query = params ? "?" + new URLSearchParams(params).toString() : "";
    return fetch(path + query, {
      headers: { "Authorization": "Bearer " + token, "Accept": "application/json" },
      cache: "no-store",
      credentials: "omit"
    }).then(function (response) {
      if (!response.ok) { throw new ApiError(response.status); }
      return response.json();
    }).then(function (data) {
      if (data.token) { token = data.token; }  // a fresh token once half the old one's life passed
      return data;
    });
  }

  function failed(error) {
    status(error && error.status === 401 ? t.expired : t.failed);
  }

  // ---- the funnel ---------------------------------------------------------------------------

  function rate(value) { return value === null || value === undefined ? "—" : percent.format(value); }

  function bar(share) {
    var svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("class", "aw-bar");
    svg.setAttribute("viewBox", "0 0 100 10");
    svg.setAttribute("preserveAspectRatio", "none");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    var track = document.createElementNS(SVG, "rect");
    track.setAttribute("class", "aw-bar-track");
    track.setAttribute("width", "100");
    track.setAttribute("height", "10");
    var value = document.createElementNS(SVG, "rect");
    value.setAttribute("class", "aw-bar-fill");
    value.setAttribute("width", String(Math.max(0, Math.min(100, share * 100))));
    value.setAttribute("height", "10");
    svg.appendChild(track);
    svg.appendChild(value);
    return svg;
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
    $("aw-updated").textContent = fill(t.updated, { time: dates.format(new Date(data.generated_at)) });
  }

  function loadFunnel() {
    return api(cfg.api.funnel).then(renderFunnel);
  }

  // ---- the table ----------------------------------------------------------------------------

  function when(iso, fallback) { return iso ? dates.format(new Date(iso)) : fallback; }

  function clock(sec) {
    sec = Math.max(0, Math.floor(sec || 0));
    var h = Math.floor(sec / 3600), m = Math.floor((sec % 3600) / 60), s = sec % 60;
    var mm = h ? String(m).padStart(2, "0") : String(m);
    return (h ? h + ":" : "") + mm + ":" + String(s).padStart(2, "0");
  }

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

  // ---- wiring -------------------------------------------------------------------------------

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
  // The download link gets the current token only when clicked (it may have been refreshed).
  $("aw-export").addEventListener("click", function () {
    this.href = cfg.api.export + "?token=" + encodeURIComponent(token);
  });
  $("aw-refresh").addEventListener("click", function () {
    status("");
    Promise.all([loadFunnel(), loadPage()]).catch(failed);
  });
  try {
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (zone) { $("aw-time-zone").textContent = fill(t.timeZone, { zone: zone }); }
  } catch (e) { /* ignore */ }

  Promise.all([loadFunnel(), loadPage()]).catch(failed);
}());
