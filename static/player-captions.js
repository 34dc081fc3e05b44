/* autowebinar-wp player: captions from WebVTT <track>s (the CAPTIONS setting).
 * The player draws the active cues itself, above its own controls, so they are never hidden
 * behind them and look the same everywhere. In iOS's native fullscreen (the <video> alone,
 * without our overlay) the browser draws them instead. */
(function () {
  "use strict";

  /* options: video, frame, box (the overlay), toggle, langButton, captions ([{lang, label}]),
   * initial (the language shown at start, or null: off), t (i18n), fail(kind, detail, lang). */
  function setup(options) {
    var video = options.video;
    var captions = options.captions || [];
    if (!captions.length) { return null; }
    var t = options.t;
    var byLang = {};
    Array.prototype.forEach.call(video.querySelectorAll("track"), function (el) {
      byLang[el.srclang] = { el: el, track: el.track, broken: false };
    });
    var state = {
      lang: options.initial || captions[0].lang,
      on: !!options.initial,
      nativeFullscreen: false
    };

    function entry() { return byLang[state.lang]; }

    function render() {
      var box = options.box;
      box.textContent = "";
      var current = entry();
      if (state.on && !state.nativeFullscreen && current && current.track.activeCues) {
        Array.prototype.forEach.call(current.track.activeCues, function (cue) {
          var line = document.createElement("span");
          line.className = "aw-cue";
          // getCueAsHTML builds inert nodes (spans, <i>, <b>…) from the cue: never markup.
          if (cue.getCueAsHTML) { line.appendChild(cue.getCueAsHTML()); } else { line.textContent = cue.text; }
          box.appendChild(line);
        });
      }
      box.hidden = !box.firstChild;
    }

    function apply() {
      Object.keys(byLang).forEach(function (lang) {
        var wanted = state.on && lang === state.lang && !byLang[lang].broken;
        // "hidden" loads the file and fires cuechange without the browser drawing anything.
        byLang[lang].track.mode = !wanted ? "disabled" : (state.nativeFullscreen ? "showing" : "hidden");
      });
      options.toggle.setAttribute("aria-pressed", state.on ? "true" : "false");
      options.frame.classList.toggle("aw-captions-on", state.on);
      if (options.langButton) {
        var current = captions.filter(function (c) { return c.lang === state.lang; })[0];
        var code = state.lang.split("-")[0].toUpperCase();
        // The name holds the visible code too, so "click EN" works for speech input.
        options.langButton.setAttribute("aria-label", t.captionLanguage.replace("{language}", current.label) + ", " + code);
        options.langButton.querySelector("[data-lang]").textContent = code;
      }
      render();
    }

    Object.keys(byLang).forEach(function (lang) {
      var item = byLang[lang];
      item.track.addEventListener("cuechange", function () { if (lang === state.lang) { render(); } });
      // A missing or malformed file: say so once, play on without captions.
      item.el.addEventListener("error", function () {
        if (item.broken) { return; }
        item.broken = true;
        if (lang === state.lang) { state.on = false; apply(); }
        options.fail("captions", "track load failed", lang);
      });
    });

    options.toggle.addEventListener("click", function () {
      if (!state.on && entry() && entry().broken) {  // try again: the file may be back
        entry().broken = false;
        entry().el.src = entry().el.src;
      }
      state.on = !state.on;
      apply();
    });
    if (options.langButton) {
      options.langButton.addEventListener("click", function () {
        var index = captions.map(function (c) { return c.lang; }).indexOf(state.lang);
        state.lang = captions[(index + 1) % captions.length].lang;
        state.on = true;
        apply();
      });
    }
    // iOS: webkitEnterFullscreen shows the bare <video>; only the browser can draw there.
    video.addEventListener("webkitbeginfullscreen", function () { state.nativeFullscreen = true; apply(); });
    video.addEventListener("webkitendfullscreen", function () { state.nativeFullscreen = false; apply(); });

    apply();
    return {
      state: function () { return { lang: state.lang, on: state.on }; }
    };
  }

  window.AutowebinarPlayer = window.AutowebinarPlayer || {};
  window.AutowebinarPlayer.captions = { setup: setup };
})();
