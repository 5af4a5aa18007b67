// Copy buttons: <button data-copy="text" hidden>. They are hidden until
// this script runs, so a page without JavaScript shows no dead button.
(function () {
  "use strict";
  function reveal(root) {
    root.querySelectorAll("button[data-copy]").forEach(function (b) { b.hidden = false; });
  }
  function copy(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    // Plain http (a dev console): the older API still works.
    var t = document.createElement("textarea");
    t.value = text;
    t.setAttribute("readonly", "");
    t.style.position = "fixed";
    t.style.opacity = "0";
    document.body.appendChild(t);
    t.select();
    var ok = document.execCommand("copy");
    document.body.removeChild(t);
    return ok ? Promise.resolve() : Promise.reject(new Error("copy refused"));
  }
  document.addEventListener("click", function (e) {
    var b = e.target.closest("button[data-copy]");
    if (!b) return;
    copy(b.getAttribute("data-copy")).then(function () {
      b.textContent = "Copied";
    }, function () {
      b.textContent = "Select and copy";
    });
    setTimeout(function () { b.textContent = "Copy"; }, 2000);
  });
  document.addEventListener("DOMContentLoaded", function () { reveal(document); });
  document.addEventListener("htmx:afterSwap", function (e) { reveal(e.target); });
})();
