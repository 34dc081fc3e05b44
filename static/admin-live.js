/* autowebinar-wp admin dashboard, the live webinars' panel: per-time registrations and
 * signals from GET /api/v1/admin/live, and the registrations CSV (downloaded with the admin
 * token as a bearer token, so the token never goes into a link). Built with textContent. */
(function () {
  "use strict";

  var cfg = JSON.parse(document.getElementById("aw-live-config").textContent);
  var t = cfg.i18n;
  // The page's admin token: from the dashboard's config, or from the address bar's fragment
  // (#token=...), read before the dashboard's script removes it.
  var token = (function () {
    var page = document.getElementById("aw-admin-config");
    if (page) {
      try { var found = JSON.parse(page.textContent).token; if (found) { return found; } } catch (e) { /* none */ }
    }
    var match = /(?:^#|[#&])token=([^&]+)/.exec(window.location.hash);
    return match ? decodeURIComponent(match[1]) : "";
  })();

  var numbers = new Intl.NumberFormat(cfg.locale);
  var dates = new Intl.DateTimeFormat(cfg.locale, { dateStyle: "medium", timeStyle: "short" });
  function $(id) { return document.getElementById(id); }
  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (m, k) { return k in values ? String(values[k]) : m; });
  }
  function cell(row, text, className) {
    var td = document.createElement("td");
    if (className) { td.className = className; }
    td.textContent = text;
    row.appendChild(td);
    return td;
  }

  function get(path) {
    return fetch(path, {
      headers: { "Authorization": "Bearer " + token },
      cache: "no-store",
      credentials: "omit"
    }).then(function (response) {
      if (!response.ok) { var err = new Error(String(response.status)); err.status = response.status; throw err; }
      return response;
    });
  }

  function render(data) {
    var body = $("aw-live-body");
    body.textContent = "";
    if (!data.slots.length) {
      var empty = document.createElement("tr");
      cell(empty, t.empty, "aw-muted").colSpan = 8;
      body.appendChild(empty);
    }
    data.slots.forEach(function (slot) {
      var row = document.createElement("tr");
      row.setAttribute("data-slot", slot.slot_id);
      var when = cell(row, slot.starts_at ? dates.format(new Date(slot.starts_at)) : slot.slot_id);
      var id = document.createElement("span");
      id.className = "aw-note";
      id.textContent = slot.slot_id + (slot.title ? " · " + slot.title : "");
      when.appendChild(id);
      cell(row, t[slot.status] || slot.status);
      [slot.registered, slot.joined, slot.signals.live_registered, slot.signals.live_joined,
       slot.signals.live_notification_opened, slot.signals.live_link_clicked].forEach(function (n) {
        cell(row, numbers.format(n), "aw-num");
      });
      body.appendChild(row);
    });
    $("aw-live-table").setAttribute("aria-busy", "false");
    var loose = data.signals_without_slot;
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    $("aw-live-note").textContent =
      fill(t.withoutSlot, { opened: numbers.format(loose.live_notification_opened),
                            clicked: numbers.format(loose.live_link_clicked) }) + " " +
      fill(t.asOf, { time: dates.format(new Date(data.computed_at)), zone: zone });
  }

  function failed(err) {
    $("aw-live-note").textContent = err && err.status === 401 ? t.expired : t.failed;
  }

  function load() {
    return get(cfg.api).then(function (r) { return r.json(); }).then(function (data) {
      if (data.token) { token = data.token; }
      render(data);
    }).catch(failed);
  }

  $("aw-live-export").addEventListener("click", function () {
    get(cfg.csv).then(function (response) {
      var name = /filename="([^"]+)"/.exec(response.headers.get("Content-Disposition") || "");
      return response.blob().then(function (blob) {
        var link = document.createElement("a");
        link.href = URL.createObjectURL(blob);
        link.download = name ? name[1] : "live-registrations.csv";
        document.body.appendChild(link);
        link.click();
        setTimeout(function () { URL.revokeObjectURL(link.href); link.remove(); }, 1000);
      });
    }).catch(failed);
  });
  var refresh = document.getElementById("aw-refresh");
  if (refresh) { refresh.addEventListener("click", load); }
  load();
})();
