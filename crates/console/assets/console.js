// plugboard console: the live parts. An element with data-live="URL" is replaced by the
// fragment at URL every second, until the fragment no longer carries data-live (the job ended).
(function () {
  "use strict";
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
        if (fresh.hasAttribute("data-live")) { setTimeout(poll, 1000); }
      })
      .catch(function () { setTimeout(poll, 3000); });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { setTimeout(poll, 1000); });
  } else {
    setTimeout(poll, 1000);
  }
})();
