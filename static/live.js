/* autowebinar-wp live pages: the slot list (/live) and the room (/live/room).
 * The server decides everything (statuses, registration, the room); this script shows it in
 * the viewer's language and time zone, counts down, and sends one-click actions.
 * Auth is the bearer token from the page, kept in memory only (not in the address bar). */
(function () {
  "use strict";

  var cfg = JSON.parse(document.getElementById("lw-config").textContent);
  var token = cfg.token;
  var t = cfg.i18n;
  var data = cfg.data;
  try { window.history.replaceState(null, "", window.location.pathname); } catch (e) { /* ignore */ }

  // Countdowns follow the server's clock, not the device's: offset = server - device.
  var offset = Date.parse(data.server_time) - Date.now();
  function now() { return Date.now() + offset; }
  var here = Intl.DateTimeFormat().resolvedOptions().timeZone;

  function $(id) { return document.getElementById(id); }
  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (m, k) { return k in values ? values[k] : m; });
  }

  // ---- formatting ---------------------------------------------------------------------------

  function when(iso, zone) {
    return new Intl.DateTimeFormat(cfg.locale, {
      timeZone: zone, weekday: "long", day: "numeric", month: "long",
      hour: "numeric", minute: "2-digit"
    }).format(new Date(iso));
  }
  function clockTime(iso, zone) {
    return new Intl.DateTimeFormat(cfg.locale, { timeZone: zone, hour: "numeric", minute: "2-digit" })
      .format(new Date(iso));
  }
  function shortWhen(iso, zone) {
    return new Intl.DateTimeFormat(cfg.locale, {
      timeZone: zone, weekday: "short", day: "numeric", month: "short",
      hour: "numeric", minute: "2-digit"
    }).format(new Date(iso));
  }
  function offsetName(iso, zone) {
    try {
      var parts = new Intl.DateTimeFormat("en", { timeZone: zone, timeZoneName: "shortOffset" })
        .formatToParts(new Date(iso));
      for (var i = 0; i < parts.length; i++) {
        if (parts[i].type === "timeZoneName") { return parts[i].value; }
      }
    } catch (e) { /* an old browser: the zone name alone */ }
    return "";
  }
  function zoneText(iso, zone) {
    var off = offsetName(iso, zone);
    return off ? zone + ", " + off : zone;
  }
  function sameWallClock(iso, zone) {
    return when(iso, zone) === when(iso, here) && offsetName(iso, zone) === offsetName(iso, here);
  }
  // Fills the three lines of a time: in the slot's zone, its zone, and in the viewer's zone.
  function showTime(whenEl, zoneEl, youEl, iso, zone) {
    whenEl.textContent = when(iso, zone);
    zoneEl.textContent = fill(t.zoneLabel, { zone: zoneText(iso, zone) });
    youEl.textContent = sameWallClock(iso, zone) ? t.sameZone
      : fill(t.yourTime, { zone: zoneText(iso, here), time: when(iso, here) });
  }
  function duration(sec) {
    sec = Math.max(0, Math.floor(sec));
    var d = Math.floor(sec / 86400), h = Math.floor((sec % 86400) / 3600);
    var m = Math.floor((sec % 3600) / 60), s = sec % 60;
    var clock = (d || h ? String(h).padStart(2, "0") + ":" : "") +
      String(m).padStart(2, "0") + ":" + String(s).padStart(2, "0");
    return d ? fill(t.days, { days: d, time: clock }) : clock;
  }
  function secondsTo(iso) { return (Date.parse(iso) - now()) / 1000; }

  // ---- the API ------------------------------------------------------------------------------

  function api(method, path, body) {
    return fetch(path, {
      method: method,
      headers: { "Authorization": "Bearer " + token, "Content-Type": "application/json" },
      body: method === "GET" ? undefined : JSON.stringify(body || {}),
      credentials: "omit",
      cache: "no-store"
    }).then(function (res) {
      return res.json().catch(function () { return null; }).then(function (json) {
        if (!res.ok) {
          var err = new Error((json && json.error && json.error.code) || String(res.status));
          err.status = res.status;
          err.code = json && json.error && json.error.code;
          throw err;
        }
        if (json && json.token) { token = json.token; }
        return json;
      });
    });
  }
  function status(text) {
    var el = $("lw-status");
    el.textContent = text || "";
    el.hidden = !text;
  }
  function failed(err) {
    if (err && err.status === 401) { status(t.expired); }
    else if (!err || !err.status) { status(t.offline); }
    else if (err.code === "slot_ended") { status(t.slotEnded); }
    else { status(t.registerFailed); }
  }
  function withToken(path) { return path + "?token=" + encodeURIComponent(token); }
  function badge(state, text) {
    var el = $("lw-badge");
    el.setAttribute("data-state", state);
    $("lw-badge-text").textContent = text;
  }

  // A ticking timer that calls `tick` every second until it returns false.
  var timers = [];
  function every(tick) {
    var id = setInterval(function () { if (tick() === false) { clearInterval(id); } }, 1000);
    timers.push(id);
    tick();
  }
  function stopTimers() { timers.forEach(clearInterval); timers = []; }

  // ---- /live: the list ----------------------------------------------------------------------

  var changing = false;

  function renderList() {
    stopTimers();
    var reg = data.registration;
    var mine = reg && reg.slot;
    $("lw-mine").hidden = !reg;
    if (reg) { renderMine(reg); }
    var showList = !reg || changing || !mine || reg.status === "ended";
    $("lw-list").hidden = !showList;
    $("lw-keep").hidden = !(changing && mine && reg.status !== "ended");
    $("lw-change").hidden = !mine || changing || reg.status === "ended";
    var list = $("lw-slots");
    list.textContent = "";
    $("lw-empty").hidden = data.slots.length > 0;
    data.slots.forEach(function (slot) { list.appendChild(slotItem(slot, reg)); });
  }

  function slotItem(slot, reg) {
    var item = $("lw-slot-template").content.firstElementChild.cloneNode(true);
    item.setAttribute("data-slot", slot.id);
    item.setAttribute("data-registered", String(slot.registered));
    showTime(item.querySelector(".lw-when"), item.querySelector(".lw-zone"),
             item.querySelector(".lw-you"), slot.starts_at, slot.timezone);
    var title = item.querySelector(".lw-slot-title");
    title.textContent = slot.title;
    title.hidden = slot.title === cfg.title;  // only a slot's own title is worth repeating
    var chip = item.querySelector(".lw-status");
    if (slot.status === "live" || slot.status === "open") {
      chip.hidden = false;
      chip.setAttribute("data-status", slot.status);
      chip.textContent = slot.status === "live" ? t.live : t.roomOpen;
    }
    var button = item.querySelector(".lw-register");
    if (slot.registered) {
      button.textContent = t.registered;
      button.disabled = true;
      button.className = "aw-next lw-register";
    } else {
      button.textContent = reg && reg.slot && reg.status !== "ended" ? t.switch : t.register;
      button.addEventListener("click", function () { register(slot.id, button); });
    }
    return item;
  }

  function renderMine(reg) {
    var slot = reg.slot;
    if (!slot) {
      $("lw-mine-when").textContent = t.unavailable;
      ["lw-mine-zone", "lw-mine-you", "lw-countdown", "lw-mine-note"].forEach(function (id) {
        $(id).textContent = "";
      });
      ["lw-room", "lw-ics", "lw-google"].forEach(function (id) { $(id).hidden = true; });
      return;
    }
    showTime($("lw-mine-when"), $("lw-mine-zone"), $("lw-mine-you"), slot.starts_at, slot.timezone);
    $("lw-ics").href = slot.ics_url;
    $("lw-google").href = slot.google_calendar_url;
    $("lw-ics").hidden = $("lw-google").hidden = reg.status === "ended";
    $("lw-room").href = withToken(cfg.api.room);
    var openMinutes = Math.round((Date.parse(slot.starts_at) - Date.parse(slot.opens_at)) / 60000);
    every(function () {
      var toStart = secondsTo(slot.starts_at), toOpen = secondsTo(slot.opens_at);
      var toEnd = secondsTo(slot.ends_at);
      var state = toOpen > 0 ? "upcoming" : toStart > 0 ? "open" : toEnd > 0 ? "live" : "ended";
      $("lw-room").hidden = !(state === "open" || state === "live");
      $("lw-countdown").textContent = state === "upcoming" || state === "open"
        ? fill(t.startsIn, { time: duration(toStart) }) : state === "live" ? t.live : "";
      $("lw-countdown").setAttribute("data-state", state);
      $("lw-mine-note").textContent = state === "upcoming"
        ? fill(t.opensIn, { time: duration(toOpen), minutes: openMinutes })
        : state === "ended" ? t.ended : "";
      if (state === "ended" && reg.status !== "ended") { refresh().catch(function () {}); return false; }
      return state !== "ended";
    });
  }

  function register(slotId, button) {
    button.disabled = true;
    status("");
    return api("POST", cfg.api.register, { slot_id: slotId }).then(function (r) {
      data.registration = r.registration;
      changing = false;
      return refresh();
    }).catch(function (err) {
      button.disabled = false;
      failed(err);
      if (err && err.code === "slot_ended") { refresh().catch(function () {}); }
    });
  }

  function refresh() {
    return api("GET", cfg.api.slots).then(function (r) {
      data = r;
      offset = Date.parse(r.server_time) - Date.now();
      if (cfg.view === "list") { renderList(); }
      return r;
    }).catch(function (err) { failed(err); throw err; });
  }

  // ---- /live/room ---------------------------------------------------------------------------

  var screens = ["lw-loading", "lw-none", "lw-unavailable", "lw-waiting", "lw-stage",
                 "lw-post-1", "lw-post-2", "lw-post-3"];
  function show(id) {
    screens.forEach(function (s) { $(s).hidden = s !== id; });
    var heading = $(id).querySelector("h2");
    if (heading && id.indexOf("lw-post") === 0) { heading.tabIndex = -1; heading.focus(); }
  }

  function enterRoom() {
    var reg = data.registration;
    if (!reg) { badge("schedule", t.schedule); return show("lw-none"); }
    if (!reg.slot) { badge("schedule", t.schedule); return show("lw-unavailable"); }
    return api("POST", cfg.api.join).then(function (r) {
      status("");
      offset = Date.parse(r.server_time) - Date.now();
      roomState(r);
    }).catch(function (err) {
      failed(err);
      if (!err || !err.status || err.status >= 500) { setTimeout(enterRoom, 5000); }
    });
  }

  function roomState(r) {
    stopTimers();
    var slot = r.slot;
    document.querySelectorAll(".lw-room-title").forEach(function (el) {
      el.textContent = slot.title;
      el.hidden = slot.title === cfg.title;
    });
    if (r.status === "upcoming") {
      badge("schedule", t.schedule);
      show("lw-waiting");
      showTime($("lw-wait-when"), $("lw-wait-zone"), $("lw-wait-you"), slot.starts_at,
               slot.timezone);
      $("lw-wait-ics").href = slot.ics_url;
      $("lw-wait-google").href = slot.google_calendar_url;
      var openMinutes = Math.round((Date.parse(slot.starts_at) - Date.parse(slot.opens_at)) / 60000);
      every(function () {
        var toOpen = secondsTo(slot.opens_at);
        $("lw-wait-countdown").textContent = fill(t.startsIn, { time: duration(secondsTo(slot.starts_at)) });
        $("lw-wait-note").textContent = fill(t.opensIn, { time: duration(toOpen), minutes: openMinutes });
        if (toOpen <= 0) { enterRoom(); return false; }
      });
      return;
    }
    if (r.status === "ended") { return postScreens(); }
    show("lw-stage");
    $("lw-stage-when").textContent = when(slot.starts_at, here) + " – " +
      clockTime(slot.ends_at, here) + " (" + zoneText(slot.starts_at, here) + ")";
    stream(r);
    every(function () {
      var toStart = secondsTo(slot.starts_at), toEnd = secondsTo(slot.ends_at);
      // The schedule says when it ends: the closing screens need no request (and no token,
      // which may have run out during a long broadcast).
      if (toEnd <= 0) { postScreens(); return false; }
      if (toStart > 0) {
        badge("open", t.roomOpen);
        $("lw-stage-note").textContent = fill(t.broadcastStartsIn, { time: duration(toStart) });
      } else {
        badge("live", t.live);
        $("lw-stage-note").textContent = "";
      }
    });
  }

  function stream(r) {
    if (!r.join_url) { return; }
    if (r.embed) {
      var box = $("lw-frame");
      if (!box.firstElementChild) {
        var frame = document.createElement("iframe");
        frame.src = r.join_url;
        frame.title = r.slot.title;
        frame.allow = "autoplay; fullscreen; picture-in-picture; encrypted-media";
        frame.allowFullscreen = true;
        // The origin only (never the path, whose query holds the token): some players, such
        // as YouTube's embeds, refuse to play for a request without any Referer.
        frame.referrerPolicy = "strict-origin";
        box.appendChild(frame);
      }
      box.hidden = false;
      $("lw-open").hidden = true;
    } else {
      $("lw-open-link").href = r.join_url;
      $("lw-open").hidden = false;
    }
  }

  // The spec's three screens after the broadcast: buttons and links only.
  function postScreens() {
    badge("ended", t.endedBadge);
    var box = $("lw-frame");
    box.textContent = "";  // stop the stream
    show("lw-post-1");
    status("");
    refresh().then(nextStep, nextStep);  // stale data still knows the next times
  }

  function nextStep() {
    status("");
    var reg = data.registration;
    var next = null;
    (data.slots || []).forEach(function (slot) {
      if (!next && secondsTo(slot.ends_at) > 0 && !slot.registered) { next = slot; }
    });
    if (reg && reg.slot && secondsTo(reg.slot.ends_at) <= 0) { reg = null; }
    var button = $("lw-next-register");
    if (reg && reg.slot) {
      $("lw-next-text").textContent = fill(t.registeredFor, { time: when(reg.slot.starts_at, here) });
      button.hidden = true;
    } else if (next) {
      $("lw-next-text").textContent = fill(t.nextSlot, { time: when(next.starts_at, here) });
      button.textContent = fill(t.registerFor, { time: shortWhen(next.starts_at, here) });
      button.hidden = false;
      button.onclick = function () {
        button.disabled = true;
        api("POST", cfg.api.register, { slot_id: next.id }).then(function (r) {
          data.registration = r.registration;
          button.disabled = false;
          nextStep();
        }).catch(function (err) { button.disabled = false; failed(err); });
      };
    } else {
      $("lw-next-text").textContent = t.noNextSlot;
      button.hidden = true;
    }
  }

  // ---- wiring -------------------------------------------------------------------------------

  document.addEventListener("click", function (event) {
    var target = event.target.closest ? event.target.closest("[data-goto], .lw-to-list") : null;
    if (!target) { return; }
    if (target.classList.contains("lw-to-list")) {
      target.href = withToken(cfg.api.list);  // followed with the current token
      return;
    }
    show("lw-post-" + target.getAttribute("data-goto"));
  });

  if (cfg.view === "list") {
    $("lw-change").addEventListener("click", function () { changing = true; renderList(); });
    $("lw-keep").addEventListener("click", function () { changing = false; renderList(); });
    $("lw-room").addEventListener("click", function () { $("lw-room").href = withToken(cfg.api.room); });
    renderList();
  } else {
    enterRoom();
  }
})();
