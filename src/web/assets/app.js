// Mail2SMS customer space: the few lines of script (the pages work without them).
// The send form's live count asks the server, which counts as the gateway will (segments.rs).
(function () {
  "use strict";
  var text = document.getElementById("text");
  var out = document.getElementById("count");
  var form = text && text.form;
  if (text && out && form) {
    var timer = null;
    var ask = function () {
      var body = new URLSearchParams();
      body.set("csrf", form.elements.csrf.value);
      body.set("text", text.value);
      fetch("/count", { method: "POST", body: body, credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (c) { if (c) { out.textContent = c.summary; } });
    };
    text.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(ask, 200); });
  }
  document.querySelectorAll("form[data-confirm]").forEach(function (f) {
    f.addEventListener("submit", function (e) { if (!window.confirm(f.getAttribute("data-confirm"))) { e.preventDefault(); } });
  });
  document.querySelectorAll("button[data-print]").forEach(function (b) {
    b.addEventListener("click", function () { window.print(); });
  });
})();
