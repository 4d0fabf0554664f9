// Portal-wide behaviour. No inline scripts anywhere (the CSP forbids them).
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  // Buttons that ask before a destructive POST: <button data-confirm="...">.
  document.querySelectorAll("[data-confirm]").forEach((el) => {
    el.addEventListener("click", (event) => {
      if (!window.confirm(el.dataset.confirm)) event.preventDefault();
    });
  });
  // Forms that must not be sent twice: disable their submit buttons once sent.
  document.querySelectorAll("form[data-once]").forEach((form) => {
    form.addEventListener("submit", () => {
      form.querySelectorAll("button[type=submit]").forEach((b) => { b.disabled = true; });
    });
  });
});
