// Lesson pages: a "Copy" button on every code block of the lesson text.
// Labels come translated from data-label-* attributes (there is no JS catalogue).
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("[data-label-copy]").forEach((container) => {
    container.querySelectorAll("pre > code").forEach((code) => {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "copy-code";
      button.textContent = container.dataset.labelCopy;
      button.addEventListener("click", async () => {
        try {
          await navigator.clipboard.writeText(code.textContent);
          button.textContent = container.dataset.labelCopied;
          setTimeout(() => { button.textContent = container.dataset.labelCopy; }, 1500);
        } catch (error) {
          // Clipboard refused (no HTTPS, no permission): select the text instead.
          const range = document.createRange();
          range.selectNodeContents(code);
          window.getSelection().removeAllRanges();
          window.getSelection().addRange(range);
        }
      });
      code.parentElement.classList.add("has-copy");
      code.parentElement.prepend(button);
    });
  });
});
