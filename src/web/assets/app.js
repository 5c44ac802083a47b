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
  // The opt-out list's import: a chosen file is read into the form's text (which can be pasted too).
  var file = document.getElementById("csv-file");
  var csv = document.getElementById("csv");
  var pick = document.getElementById("csv-pick");
  if (file && csv && pick && window.FileReader) {
    pick.hidden = false;
    file.addEventListener("change", function () {
      var chosen = file.files && file.files[0];
      if (!chosen) { return; }
      var reader = new FileReader();
      reader.onload = function () { csv.value = reader.result; };
      reader.readAsText(chosen);
    });
  }
  document.querySelectorAll("form[data-confirm]").forEach(function (f) {
    f.addEventListener("submit", function (e) { if (!window.confirm(f.getAttribute("data-confirm"))) { e.preventDefault(); } });
  });
  document.querySelectorAll("button[data-print]").forEach(function (b) {
    b.addEventListener("click", function () { window.print(); });
  });
})();
