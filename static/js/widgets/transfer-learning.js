// Lesson 8 widget: trainable vs frozen parameters per strategy, and the four cases.
// Data: GET data-counts-url (api:arch-transfer-learning). Helpers: widget-kit.js.
"use strict";
(() => {
  const { el, fetchJson, formatNumber: fmt, lang, scope } = window.WidgetKit;
  const root = document.querySelector('[data-widget="transfer-learning"]');
  if (!root) return;
  const { part, label } = scope(root);
  let data = null;

  function show(key) {
    const s = data.strategies.find((x) => x.key === key);
    if (!s) return;
    const radio = root.querySelector(`input[value="${key}"]`);
    if (radio) radio.checked = true;
    part("result").hidden = false;
    part("trainable").textContent = fmt(s.trainable);
    part("frozen").textContent = fmt(s.frozen);
    part("total").textContent = fmt(s.total);
    part("share").value = s.trainable_share;
    part("share-text").textContent =
      `${(100 * s.trainable_share).toLocaleString(lang, { maximumFractionDigits: 2 })}% ${label("Trainable")}`;
    part("description").textContent = s.description;
    const blocks = part("blocks");
    blocks.replaceChildren();
    data.blocks.forEach((name) => {
      const trainable = s.trainable_blocks.includes(name);
      const state = el("small", { text: trainable ? label("Trainable") : label("Frozen") });
      blocks.append(el("li", { className: trainable ? "is-trainable" : "is-frozen" }, name, state));
    });
    root.querySelectorAll(".transfer-cases td[data-similarity]").forEach((td) => {
      td.classList.toggle("is-selected", td.dataset.strategy === key);
    });
  }

  function render() {
    const fieldset = part("strategies");
    data.strategies.forEach((s, i) => {
      const input = el("input", { type: "radio", name: "transfer-strategy", value: s.key });
      input.checked = i === 0;
      input.addEventListener("change", () => show(s.key));
      fieldset.append(el("label", { className: "transfer-option" }, input, ` ${s.label}`));
    });
    data.cases.forEach((c) => {
      const td = root.querySelector(`tr[data-size="${c.size}"] td[data-similarity="${c.similarity}"]`);
      if (!td) return;
      td.dataset.strategy = c.strategy;
      const button = el("button", { type: "button", className: "link-button transfer-case" },
        el("strong", { text: `${label("Recommended")}: ${c.strategy_label}` }),
        el("br"),
        el("span", { text: c.reason }));
      button.addEventListener("click", () => show(c.strategy));
      td.replaceChildren(button);
    });
    show(data.strategies[0].key);
  }

  fetchJson(root.dataset.countsUrl)
    .then(({ ok, data: json }) => {
      if (!ok) throw new Error(label("Error"));
      data = json;
      part("status").hidden = true;
      render();
    })
    .catch(() => { part("status").textContent = label("Error"); });
})();
