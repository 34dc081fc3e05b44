/* autowebinar-wp player: HLS sources (.m3u8).
 * Safari and iOS play HLS themselves; everywhere else the vendored hls.js (loaded only here,
 * only for an HLS source) feeds the <video> through Media Source Extensions. Either way the
 * element stays an ordinary <video>, so player.js keeps its honest rules (no seeking, rate 1,
 * the server's position) without knowing which one plays. */
(function () {
  "use strict";

  var HLS_TYPE = "application/vnd.apple.mpegurl";

  // Which engine: "native", "hlsjs" or null (this browser cannot play HLS at all).
  // Native only where it is known to be good: Safari with Managed Media Source (macOS, iOS
  // 17.1+). Chromium also answers "maybe" to canPlayType but fails some streams natively
  // (hls.js README, "Alternative setup"), so it gets hls.js. Old iOS has no MSE: native.
  function engine(video) {
    var native = !!video.canPlayType(HLS_TYPE);
    if (native && "ManagedMediaSource" in window) { return "native"; }
    if (window.MediaSource || window.ManagedMediaSource) { return "hlsjs"; }
    return native ? "native" : null;
  }

  var loading = null;
  function loadHlsJs(src) {
    if (window.Hls) { return Promise.resolve(window.Hls); }
    if (!loading) {
      loading = new Promise(function (resolve, reject) {
        var script = document.createElement("script");
        script.src = src;
        script.async = true;
        script.onload = function () { return window.Hls ? resolve(window.Hls) : reject(new Error("no Hls")); };
        script.onerror = function () { loading = null; reject(new Error("hls.js did not load")); };
        document.head.appendChild(script);
      });
    }
    return loading;
  }

  function attachHlsJs(Hls, video, media, startAt, fail) {
    var hls = new Hls({
      // The worker as a same-origin file: the inline (blob:) worker would need a weaker CSP.
      workerPath: media.hlsWorker,
      startPosition: startAt,     // load from the server's position, not from 0
      capLevelToPlayerSize: true
    });
    var mediaRecovered = false;
    hls.on(Hls.Events.ERROR, function (_event, data) {
      if (!data.fatal) { return; }   // hls.js retries the rest itself
      if (data.type === Hls.ErrorTypes.MEDIA_ERROR && !mediaRecovered) {
        mediaRecovered = true;        // one decoder hiccup is recoverable in place
        hls.recoverMediaError();
        return;
      }
      var broken = data.details === Hls.ErrorDetails.MANIFEST_PARSING_ERROR ||
                   data.details === Hls.ErrorDetails.LEVEL_EMPTY_ERROR ||
                   data.details === Hls.ErrorDetails.LEVEL_PARSING_ERROR ||
                   data.details === Hls.ErrorDetails.MANIFEST_INCOMPATIBLE_CODECS_ERROR;
      hls.destroy();
      fail(broken ? "playlist" : "video", String(data.details || data.type));
    });
    hls.loadSource(media.hls);
    hls.attachMedia(video);
    return hls;
  }

  /* Play `media.hls` in `video` from `startAt` seconds. `fail(kind, detail)` is called once if
   * it cannot be played: kind "playlist" (malformed), "video" (missing, unreachable, broken)
   * or "unsupported" (no HLS in this browser). Returns the engine's name. */
  function attach(video, media, startAt, fail) {
    var which = engine(video);
    if (which === "native") {
      video.src = media.hls;     // Safari: player.js seeks to startAt on loadedmetadata
      return which;
    }
    if (which === "hlsjs") {
      loadHlsJs(media.hlsJs).then(function (Hls) {
        if (!Hls.isSupported()) {
          if (video.canPlayType(HLS_TYPE)) { video.src = media.hls; return; }
          fail("unsupported", "hls.js: no usable MediaSource");
          return;
        }
        attachHlsJs(Hls, video, media, startAt, fail);
      }).catch(function (err) { fail("video", String(err && err.message)); });
      return which;
    }
    fail("unsupported", "no HLS playback");
    return "none";
  }

  window.AutowebinarPlayer = window.AutowebinarPlayer || {};
  window.AutowebinarPlayer.hls = { attach: attach, engine: engine };
})();
