// plugboard console: the live parts. An element with data-live="URL" is replaced by the
// fragment at URL every second, until the fragment no longer carries data-live (the job ended).
// A hidden tab does not poll; it catches up when shown again. (docs/console.md says why this is
// polling and not server-sent events.)
(function () {
  "use strict";
  function later(ms) { setTimeout(whenVisible, ms); }
  function whenVisible() {
    if (document.hidden) {
      document.addEventListener("visibilitychange", whenVisible, { once: true });
    } else {
      poll();
    }
  }
  function poll() {
    var el = document.querySelector("[data-live]");
    if (!el) { return; }
    fetch(el.getAttribute("data-live"), { credentials: "same-origin" })
      .then(function (r) { if (!r.ok) { throw new Error(String(r.status)); } return r.text(); })
      .then(function (html) {
        var t = document.createElement("template");
        t.innerHTML = html.trim();
        var fresh = t.content.firstElementChild;
        if (!fresh) { return; }
        el.replaceWith(fresh);
        if (fresh.hasAttribute("data-live")) { later(1000); }
      })
      .catch(function () { later(3000); });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { later(1000); });
  } else {
    later(1000);
  }
})();
