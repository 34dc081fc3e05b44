/* autowebinar-wp player: the honest "live effect" for a recording.
 * The server is authoritative for the position; this script only plays, reports and obeys.
 * No seeking (snapped back), playbackRate locked to 1, no picture-in-picture.
 * Auth is the bearer token from the page (no cookies), so it works in a cross-site iframe. */
(function () {
  "use strict";

  var cfg = JSON.parse(document.getElementById("aw-config").textContent);
  var token = cfg.token;
  var anchor = null;   // the server's signed (position, time) of this viewing: echoed back
  var joins = 0;       // joins sent: an answer to a request sent before the latest join is
                       // not adopted (its anchor would lag what the join resumed from)
  var t = cfg.i18n;
  // The token stays in memory only: not in the address bar, history or a Referer.
  try { window.history.replaceState(null, "", window.location.pathname); } catch (e) { /* ignore */ }

  function $(id) { return document.getElementById(id); }
  var video = $("aw-video");
  var frame = $("aw-frame");
  var media = cfg.media || {};
  var screens = ["aw-loading", "aw-waiting", "aw-stage", "aw-post-1", "aw-post-2", "aw-post-3"];

  var st = {
    joined: false,        // on the player screen with a live session
    lastGood: 0,          // the last position reached by playing (not by seeking)
    seekTarget: null,     // a seek we make ourselves (resume, snap-back)
    ctaVisible: false,
    finished: false,
    inFlight: false,
    timer: null,
    engine: null          // how an HLS source plays: "native", "hlsjs", "fallback"
  };

  function show(id) {
    screens.forEach(function (s) { $(s).hidden = s !== id; });
    document.body.classList.toggle("aw-on-stage", id === "aw-stage");   // the layout that fits the frame
    var heading = $(id).querySelector("h2");
    if (heading) { heading.tabIndex = -1; heading.focus(); }
  }

  function fmt(sec) {
    sec = Math.max(0, Math.floor(sec || 0));
    var h = Math.floor(sec / 3600), m = Math.floor((sec % 3600) / 60), s = sec % 60;
    var mm = h ? String(m).padStart(2, "0") : String(m);
    return (h ? h + ":" : "") + mm + ":" + String(s).padStart(2, "0");
  }

  function status(text) {
    var el = $("aw-status");
    el.textContent = text || "";
    el.hidden = !text;
  }

  function notice(text) {
    var el = $("aw-notice");
    el.textContent = text || "";
    el.hidden = !text;
  }

  function api(path, body) {
    if (path === cfg.api.join) { joins += 1; }
    var sentAfter = joins;
    return fetch(path, {
      method: "POST",
      headers: { "Authorization": "Bearer " + token, "Content-Type": "application/json" },
      body: JSON.stringify(body || {}),
      credentials: "omit",
      cache: "no-store"
    }).then(function (res) {
      if (res.status === 204) { return {}; }
      return res.json().catch(function () { return null; }).then(function (data) {
        if (!res.ok) {
          var err = new Error((data && data.error && data.error.code) || String(res.status));
          err.status = res.status;
          throw err;
        }
        if (data && data.token) { token = data.token; }
        if (data && data.anchor && sentAfter === joins) { anchor = data.anchor; }
        return data;
      });
    });
  }

  function failed(err) {
    if (err && /^anchor_|^invalid_anchor$/.test(err.message)) {
      // The viewing's anchor was refused (expired, or from another session): join again,
      // which resumes from the server's position with a fresh anchor.
      anchor = null;
      join();
      return;
    }
    if (err && err.status === 401) {
      stopHeartbeats();
      video.pause();
      status(t.expired);
    } else if (!err || !err.status) {
      status(t.offline);
    }
  }

  // ---- join, waiting room ------------------------------------------------------------------

  function join() {
    return api(cfg.api.join).then(function (r) {
      status("");
      if (r.starts_in_sec > 0) { return waitingRoom(r.starts_in_sec); }
      if (r.completed) { st.finished = true; return show("aw-post-1"); }
      st.joined = true;
      st.lastGood = r.position_sec;
      setCta(r.cta_visible);
      show("aw-stage");
      if (r.resumed) { notice(t.resume.replace("{time}", fmt(r.position_sec))); }
      attachSource(r.position_sec);
      start(r.position_sec);
    }).catch(function (err) {
      failed(err);
      if (!err || !err.status || err.status >= 500) { setTimeout(join, 5000); }
    });
  }

  function waitingRoom(seconds) {
    show("aw-waiting");
    var until = performance.now() + seconds * 1000;
    function tick() {
      var left = Math.ceil((until - performance.now()) / 1000);
      if (left <= 0) { join(); return; }
      var text = t.startsIn.replace("{time}", fmt(left));
      $("aw-countdown").textContent = text;
      // Screen readers hear it once, then each whole minute, not every second.
      if (!$("aw-countdown-said").textContent || left % 60 === 0) { $("aw-countdown-said").textContent = text; }
      setTimeout(tick, Math.min(1000, (left - 1) * 1000 + 50) || 1000);
    }
    tick();
  }

  // ---- playback ---------------------------------------------------------------------------

  function seekTo(position) {
    st.seekTarget = position;
    video.currentTime = position;
  }

  function start(position) {
    function go() {
      if (position > 0) { seekTo(position); }
      play();
    }
    if (video.readyState >= 1) { go(); } else { video.addEventListener("loadedmetadata", go, { once: true }); }
  }

  function play() {
    var attempt = video.play();
    if (!attempt || !attempt.catch) { return; }
    attempt.catch(function () {
      if (video.muted) { return; }            // even muted autoplay refused: wait for a tap on Play
      video.muted = true;                     // mobile: start muted, offer tap-to-unmute
      video.play().then(function () { $("aw-unmute").hidden = false; }).catch(function () {});
    });
  }

  video.addEventListener("timeupdate", function () {
    if (!video.seeking && st.seekTarget === null && video.currentTime - st.lastGood < 2.5) {
      st.lastGood = Math.max(st.lastGood, video.currentTime);
    }
    $("aw-time").textContent = fmt(video.currentTime) + " / " + fmt(cfg.durationSec);
  });

  video.addEventListener("seeking", function () {
    if (st.seekTarget !== null && Math.abs(video.currentTime - st.seekTarget) < 0.5) { return; }
    if (Math.abs(video.currentTime - st.lastGood) > 1) { seekTo(st.lastGood); }  // no seeking
  });
  video.addEventListener("seeked", function () {
    if (st.seekTarget !== null && Math.abs(video.currentTime - st.seekTarget) < 0.5) {
      st.lastGood = video.currentTime;
      st.seekTarget = null;
    }
  });

  video.addEventListener("ratechange", function () {
    if (video.playbackRate !== 1) { video.playbackRate = 1; }
    if (video.defaultPlaybackRate !== 1) { video.defaultPlaybackRate = 1; }
  });

  video.addEventListener("play", function () {
    frame.classList.add("aw-playing");
    $("aw-play").setAttribute("aria-label", t.pause);
    startHeartbeats();
  });
  video.addEventListener("pause", function () {
    frame.classList.remove("aw-playing");
    $("aw-play").setAttribute("aria-label", t.play);
    stopHeartbeats();
    if (st.joined && !video.ended) { heartbeat(); }  // save on pause
  });
  video.addEventListener("ended", function () {
    stopHeartbeats();
    heartbeat(Math.max(video.currentTime, cfg.durationSec));
  });
  video.addEventListener("volumechange", function () {
    frame.classList.toggle("aw-muted", video.muted);
    $("aw-mute").setAttribute("aria-label", video.muted ? t.unmute : t.mute);
    var percent = video.muted ? 0 : Math.round(video.volume * 100);
    $("aw-volume").value = percent;
    $("aw-volume").setAttribute("aria-valuetext", t.volume.replace("{percent}", percent));
    if (!video.muted) { $("aw-unmute").hidden = true; }
  });
  video.addEventListener("enterpictureinpicture", function () {
    if (document.exitPictureInPicture) { document.exitPictureInPicture().catch(function () {}); }
  });

  // ---- heartbeats and saving ----------------------------------------------------------------

  function startHeartbeats() {
    stopHeartbeats();
    st.timer = setInterval(function () {
      if (!video.paused && !video.ended) { heartbeat(); }
    }, cfg.heartbeatSec * 1000);
  }

  function stopHeartbeats() {
    if (st.timer) { clearInterval(st.timer); st.timer = null; }
  }

  function heartbeat(position) {
    if (!st.joined || st.finished || st.inFlight) { return; }
    st.inFlight = true;
    var sent = position === undefined ? video.currentTime : position;
    api(cfg.api.heartbeat, { position_sec: sent, anchor: anchor }).then(function (r) {
      st.inFlight = false;
      status("");
      setCta(r.cta_visible);
      if (r.completed) { finish(); return; }
      // The server's position is authoritative: snap back only on a real difference.
      // (It lags the picture by up to one heartbeat, so what we played ourselves counts.)
      var honest = Math.max(r.position_sec, Math.min(st.lastGood, r.position_sec + 3));
      if (video.currentTime > honest + 3) {
        st.lastGood = honest;
        seekTo(honest);
      }
      if (video.ended) { video.play(); }
    }).catch(function (err) { st.inFlight = false; failed(err); });
  }

  function beacon() {
    if (!st.joined || st.finished || !navigator.sendBeacon) { return; }
    var body = JSON.stringify({ token: token, anchor: anchor, position_sec: video.currentTime });
    navigator.sendBeacon(cfg.api.leave, new Blob([body], { type: "application/json" }));
  }

  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") { beacon(); }
  });
  window.addEventListener("pagehide", beacon);

  function finish() {
    st.finished = true;
    stopHeartbeats();
    video.pause();
    show("aw-post-1");
  }

  // ---- CTA -----------------------------------------------------------------------------------

  function setCta(visible) {
    st.ctaVisible = !!visible;
    $("aw-cta-row").hidden = !st.ctaVisible;
  }

  function clickCta() {
    api(cfg.api.cta).then(function (r) {
      var win = window.open(r.redirect_url, "_blank");
      if (win) { try { win.opener = null; } catch (e) { /* ignore */ } return; }
      var box = $("aw-cta-fallback");
      box.querySelector("span").textContent = t.ctaBlocked;
      var link = box.querySelector("a");
      link.href = r.redirect_url;
      link.textContent = r.redirect_url;
      box.hidden = false;
    }).catch(failed);
  }

  $("aw-cta").addEventListener("click", clickCta);
  Array.prototype.forEach.call(document.querySelectorAll("[data-cta]"), function (b) {
    b.addEventListener("click", clickCta);
  });
  Array.prototype.forEach.call(document.querySelectorAll("[data-goto]"), function (b) {
    b.addEventListener("click", function () { show("aw-post-" + b.getAttribute("data-goto")); });
  });

  // ---- controls --------------------------------------------------------------------------------

  function togglePlay() {
    if (video.paused) { play(); } else { video.pause(); }
  }

  $("aw-play").addEventListener("click", togglePlay);
  video.addEventListener("click", togglePlay);
  $("aw-mute").addEventListener("click", function () { video.muted = !video.muted; });
  $("aw-unmute").addEventListener("click", function () { video.muted = false; if (video.volume === 0) { video.volume = 1; } });
  $("aw-volume").addEventListener("input", function (e) {
    video.volume = Number(e.target.value) / 100;
    video.muted = video.volume === 0;
  });
  $("aw-fullscreen").addEventListener("click", function () {
    if (document.fullscreenElement) { document.exitFullscreen(); return; }
    if (document.webkitFullscreenElement) { document.webkitExitFullscreen(); return; }
    if (frame.requestFullscreen) { frame.requestFullscreen().catch(function () {}); }
    else if (frame.webkitRequestFullscreen) { frame.webkitRequestFullscreen(); }   // older Safari, iPad
    else if (video.webkitEnterFullscreen) { video.webkitEnterFullscreen(); }       // iPhone: the bare video
  });
  function fullscreenChanged() {
    var on = !!(document.fullscreenElement || document.webkitFullscreenElement);
    $("aw-fullscreen").setAttribute("aria-label", on ? t.exitFullscreen : t.fullscreen);
  }
  document.addEventListener("fullscreenchange", fullscreenChanged);
  document.addEventListener("webkitfullscreenchange", fullscreenChanged);
  // Seek shortcuts do nothing: there is no seeking in a "live" recording.
  var seekKeys = ["ArrowLeft", "ArrowRight", "Home", "End", "PageUp", "PageDown", "j", "l", "J", "L",
                  "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", ",", ".", "<", ">"];
  document.addEventListener("keydown", function (e) {
    if (e.target && e.target.id === "aw-volume") { return; }   // arrows change the volume there
    if (!st.joined || st.finished) { return; }                 // other screens scroll as usual
    if (seekKeys.indexOf(e.key) !== -1) { e.preventDefault(); e.stopPropagation(); return; }
    if ((e.key === " " || e.key === "k") && e.target === document.body && st.joined) {
      e.preventDefault();
      togglePlay();
    }
  }, true);

  // ---- the source: progressive <source>s in the page, or HLS (player-hls.js) -----------------

  function attachSource(position) {
    var hls = window.AutowebinarPlayer && window.AutowebinarPlayer.hls;
    if (!media.hls || !hls || st.engine) { return; }
    st.engine = hls.attach(video, media, position, function (kind, detail) {
      if (kind === "unsupported" && media.fallback && media.fallback.length) {
        st.engine = "fallback";          // no HLS here, but a progressive copy exists
        media.fallback.forEach(function (f) {
          var el = document.createElement("source");
          el.src = f.src;
          if (f.type) { el.type = f.type; }
          video.appendChild(el);
        });
        watchSources();
        video.load();
        return;
      }
      mediaFailed(kind, detail);
    });
  }

  // Every <source> failed (missing, unreachable, unplayable): the last one reports it.
  function watchSources() {
    var list = video.querySelectorAll("source");
    if (!list.length) { return; }
    list[list.length - 1].addEventListener("error", function () { mediaFailed("video", "no playable source"); });
  }
  watchSources();
  video.addEventListener("error", function () {
    // hls.js reports (and recovers from) its own errors; this is a plain or native-HLS src.
    if (!video.error || st.engine === "hlsjs") { return; }
    mediaFailed("video", "MEDIA_ERR " + video.error.code);
  });

  // iOS's own fullscreen has a seek bar. Its seeks fire "seeking" as usual (snapped back
  // above); whatever still got through is undone on the way out, and the next heartbeat's
  // answer (the server's position) corrects the rest.
  video.addEventListener("webkitendfullscreen", function () {
    if (st.joined && video.currentTime > st.lastGood + 1) { seekTo(st.lastGood); }
    if (st.joined) { heartbeat(); }
  });

  // ---- media errors: a clear message here, and one log line on the server per kind --------

  var reported = {};
  function mediaFailed(kind, detail, lang) {
    detail = String(detail || "").replace(/[^A-Za-z0-9_.:\- ]/g, "").slice(0, 80);
    if (window.console) { console.warn("autowebinar player: " + kind + " failed: " + detail + (lang ? " (" + lang + ")" : "")); }
    if (kind === "captions") {
      notice(t.captionsFailed);
    } else {
      var box = $("aw-media-error");
      box.textContent = { playlist: t.playlistFailed, unsupported: t.unsupported }[kind] || t.videoFailed;
      box.hidden = false;
      $("aw-unmute").hidden = true;
      frame.classList.add("aw-failed");
    }
    var key = kind + ":" + (lang || "");
    if (reported[key]) { return; }
    reported[key] = true;
    var body = { kind: kind, detail: detail };
    if (lang) { body.lang = lang; }
    api(cfg.api.error, body).catch(function () { /* the message above is what matters */ });
  }

  // A missing file on a fast server can fail every <source> before this script runs, and
  // the error event is gone by then: the state still says so.
  if (!media.hls && video.querySelector("source") && video.networkState === 3 /* NETWORK_NO_SOURCE */) {
    mediaFailed("video", "no playable source");
  }

  var captionsUi = window.AutowebinarPlayer && window.AutowebinarPlayer.captions;
  if (captionsUi && $("aw-cc")) {
    captionsUi.setup({
      video: video, frame: frame, box: $("aw-captions"), toggle: $("aw-cc"), langButton: $("aw-cc-lang"),
      captions: media.captions, initial: media.captionsDefault, t: t, fail: mediaFailed
    });
  }

  join();
})();
