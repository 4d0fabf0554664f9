// Lesson pages: a "Copy" button on every code block of the lesson text, and tabs
// "PyTorch | Keras" where a ```keras fence follows a ```python one (the notes' Keras
// version of the same code). Labels come translated from data-label-* attributes
// (there is no JS catalogue).
"use strict";

function addKerasTabs(container, first) {
  let count = first;
  container.querySelectorAll("pre > code.language-keras").forEach((code) => {
    const keras = code.parentElement;
    const pytorch = keras.previousElementSibling;
    const note = document.createElement("p");
    note.className = "help keras-note";
    note.textContent = container.dataset.labelKerasNote || "";
    if (!pytorch || pytorch.tagName !== "PRE" || !pytorch.querySelector("code.language-python")) {
      keras.before(note); // a Keras block on its own: say what it needs
      return;
    }
    count += 1;
    const group = document.createElement("div");
    group.className = "code-tabs";
    const tablist = document.createElement("div");
    tablist.setAttribute("role", "tablist");
    tablist.setAttribute("aria-label", container.dataset.labelCodeTabs || "");
    const tabs = [];
    pytorch.before(group);
    const panels = [["pytorch", "PyTorch", [pytorch]], ["keras", "Keras", [note, keras]]].map(
      ([key, name, children]) => {
        const tab = document.createElement("button");
        const panel = document.createElement("div");
        tab.type = "button";
        tab.id = `code-tab-${count}-${key}`;
        panel.id = `code-panel-${count}-${key}`;
        tab.setAttribute("role", "tab");
        tab.setAttribute("aria-controls", panel.id);
        tab.dataset.framework = key;
        tab.textContent = name;
        panel.setAttribute("role", "tabpanel");
        panel.setAttribute("aria-labelledby", tab.id);
        panel.dataset.framework = key;
        tabs.push(tab);
        tablist.append(tab);
        group.append(panel);
        panel.append(...children);
        return panel;
      },
    );
    group.prepend(tablist);
    const select = (chosen) => {
      tabs.forEach((tab, index) => {
        const on = index === chosen;
        tab.setAttribute("aria-selected", String(on));
        tab.tabIndex = on ? 0 : -1;
        panels[index].hidden = !on;
      });
    };
    tabs.forEach((tab, index) => {
      tab.addEventListener("click", () => select(index));
      tab.addEventListener("keydown", (event) => {
        if (event.key !== "ArrowRight" && event.key !== "ArrowLeft") return;
        const next = (index + 1) % tabs.length;
        select(next);
        tabs[next].focus();
      });
    });
    select(0);
  });
  return count;
}

document.addEventListener("DOMContentLoaded", () => {
  let tabGroups = 0;
  document.querySelectorAll("[data-label-keras-note]").forEach((container) => {
    tabGroups = addKerasTabs(container, tabGroups);
  });
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
