// Small behaviours of the console that need JavaScript; every page works
// without it (the CSP allows scripts from this site only, so nothing is inline).
//
// <button data-copy="ID">: copies the value (or text) of element ID to the
// clipboard and says so on the button. A copy button marked hidden (dead
// without this script) is shown here.
// <form data-confirm="question">: asks before submitting.
"use strict";

document.addEventListener("click", (ev) => {
  const button = ev.target.closest("button[data-copy]");
  if (!button) return;
  const source = document.getElementById(button.dataset.copy);
  if (!source) return;
  const text = ("value" in source ? source.value : source.textContent).trim();
  const label = button.dataset.label || button.textContent;
  button.dataset.label = label;
  // A [data-copy-status=ID] element, if any, announces the result too.
  const status = document.querySelector(`[data-copy-status="${button.dataset.copy}"]`);
  const done = (msg) => {
    button.textContent = msg;
    if (status) status.textContent = msg;
    setTimeout(() => { button.textContent = label; }, 2000);
  };
  const fallback = () => {
    // Without the async clipboard (plain http on another host): select it for the user.
    if (source.select) source.select();
    else getSelection().selectAllChildren(source);
    done(document.execCommand && document.execCommand("copy") ? "Copied" : "Press Ctrl+C to copy");
  };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).then(() => done("Copied"), fallback);
  } else {
    fallback();
  }
});

const revealCopyButtons = (root) => {
  root.querySelectorAll("button[data-copy][hidden]").forEach((b) => { b.hidden = false; });
};
document.addEventListener("DOMContentLoaded", () => revealCopyButtons(document));
document.addEventListener("htmx:afterSwap", (ev) => revealCopyButtons(ev.target));

document.addEventListener("submit", (ev) => {
  const question = ev.target.dataset && ev.target.dataset.confirm;
  if (question && !window.confirm(question)) ev.preventDefault();
});
