// Portal-wide behaviour. No inline scripts anywhere (the CSP forbids them).
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  // Buttons that ask before a destructive POST: <button data-confirm="...">.
  document.querySelectorAll("[data-confirm]").forEach((el) => {
    el.addEventListener("click", (event) => {
      if (!window.confirm(el.dataset.confirm)) event.preventDefault();
    });
  });
  // includes/_file_picker.html: name the chosen file(s) beside the page's own button.
  document.querySelectorAll(".file-picker").forEach((picker) => {
    const input = picker.querySelector("input[type=file]");
    const name = picker.querySelector("[data-file-name]");
    const none = name.textContent;
    const show = () => {
      const files = Array.from(input.files || []).map((f) => f.name);
      name.textContent = files.length ? files.join(", ") : none;
    };
    input.addEventListener("change", show);
    input.addEventListener("file-picker:cleared", show);  // a script emptied it
    show();
  });
  // Forms that must not be sent twice: disable their submit buttons once sent.
  document.querySelectorAll("form[data-once]").forEach((form) => {
    form.addEventListener("submit", () => {
      form.querySelectorAll("button[type=submit]").forEach((b) => { b.disabled = true; });
    });
  });
});
