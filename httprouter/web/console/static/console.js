// httprouter console: auto-refresh, the simulator's thread, the SMS segment counter.
// Loaded from 'self' only (CSP script-src 'self'); no inline handlers anywhere.
"use strict";

(function () {
  // --- GSM 03.38 arithmetic (the same tables as httprouter/encoding.py) ---------------------
  var GSM7_BASIC = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
  var GSM7_EXTENDED = "^{}\\[~]|€\f";

  function segments(text) {
    var septets = 0, gsm = true;
    for (var i = 0; i < text.length; i++) {
      var ch = text.charAt(i);
      if (GSM7_BASIC.indexOf(ch) >= 0) { septets += 1; }
      else if (GSM7_EXTENDED.indexOf(ch) >= 0) { septets += 2; }
      else { gsm = false; break; }
    }
    if (gsm) {
      var parts = septets <= 160 ? 1 : Math.ceil(septets / 153);
      var room = (parts === 1 ? 160 : parts * 153) - septets;
      return { encoding: "GSM-7", units: septets, parts: parts, left: room };
    }
    var units = text.length;  // JavaScript strings are UTF-16 code units, as UCS-2 counts them
    var ucsParts = units <= 70 ? 1 : Math.ceil(units / 67);
    return { encoding: "UCS-2", units: units, parts: ucsParts, left: (ucsParts === 1 ? 70 : ucsParts * 67) - units };
  }
  window.httprouterSegments = segments;

  function bindCounter(area) {
    var out = document.getElementById(area.getAttribute("data-counter"));
    if (!out) { return; }
    function update() {
      var s = segments(area.value);
      out.textContent = area.value.length + " characters · " + s.encoding + " · " + s.parts +
        (s.parts === 1 ? " SMS part" : " SMS parts") + " · " + s.left + " left in this part";
      out.setAttribute("data-encoding", s.encoding);
      out.setAttribute("data-parts", String(s.parts));
    }
    area.addEventListener("input", update);
    update();
  }

  // --- fetching fragments (the session cookie goes along; a lost session reloads the page) --
  function fetchHtml(url, done) {
    fetch(url, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
      .then(function (res) {
        if (res.redirected || !res.ok) {
          if (res.redirected) { window.location.reload(); }
          return null;
        }
        return res.text();
      })
      .then(function (html) { if (html !== null) { done(html); } })
      .catch(function () { /* offline for a moment: try again next tick */ });
  }

  // --- the message log: refresh the table in place, keeping the filters and the scroll -------
  function bindRefresh(box) {
    var url = box.getAttribute("data-refresh-url");
    var seconds = parseInt(box.getAttribute("data-refresh-seconds"), 10) || 5;
    setInterval(function () {
      if (document.hidden) { return; }
      fetchHtml(url, function (html) {
        var before = box.offsetHeight;
        var scrolled = window.scrollY;
        box.innerHTML = html;
        if (scrolled > 0) { window.scrollTo(0, scrolled + box.offsetHeight - before); }
        box.setAttribute("data-refreshed", String(Date.now()));
      });
    }, seconds * 1000);
  }

  // --- the phone simulator: append new messages of the thread as they are created -----------
  function bindThread(thread) {
    var base = thread.getAttribute("data-thread-url");
    var seconds = parseInt(thread.getAttribute("data-poll-seconds"), 10) || 2;
    function lastId() {
      var bubbles = thread.querySelectorAll("[data-id]");
      return bubbles.length ? bubbles[bubbles.length - 1].getAttribute("data-id") : "0";
    }
    thread.scrollTop = thread.scrollHeight;
    setInterval(function () {
      if (document.hidden) { return; }
      fetchHtml(base + "&after=" + encodeURIComponent(lastId()), function (html) {
        if (html.trim()) {
          thread.insertAdjacentHTML("beforeend", html);
          thread.scrollTop = thread.scrollHeight;
        }
      });
    }, seconds * 1000);
    var text = document.getElementById("sim-text");
    if (text) {
      // Enter sends, Shift+Enter starts a new line, as on a phone.
      text.addEventListener("keydown", function (event) {
        if (event.key === "Enter" && !event.shiftKey && text.value.trim()) {
          event.preventDefault();
          text.form.requestSubmit();
        }
      });
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("textarea[data-counter]").forEach(bindCounter);
    document.querySelectorAll("[data-refresh-url]").forEach(bindRefresh);
    document.querySelectorAll("[data-thread-url]").forEach(bindThread);
  });
})();
