// Lesson 8 widget: trainable vs frozen parameters per strategy, and the four cases.
// Data: GET data-counts-url (demos/arch_views.py transfer_learning_json).
"use strict";
(() => {
  const root = document.querySelector('[data-widget="transfer-learning"]');
  if (!root) return;
  const lang = document.documentElement.lang || "en";
  const fmt = (n) => Number(n).toLocaleString(lang);
  const part = (role) => root.querySelector(`[data-role="${role}"]`);
  const label = (name) => root.dataset[`label${name}`] || "";
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
      const li = document.createElement("li");
      const trainable = s.trainable_blocks.includes(name);
      li.className = trainable ? "is-trainable" : "is-frozen";
      const state = document.createElement("small");
      state.textContent = trainable ? label("Trainable") : label("Frozen");
      li.append(name, state);
      blocks.append(li);
    });
    root.querySelectorAll(".transfer-cases td[data-similarity]").forEach((td) => {
      td.classList.toggle("is-selected", td.dataset.strategy === key);
    });
  }

  function render() {
    const fieldset = part("strategies");
    data.strategies.forEach((s, i) => {
      const wrap = document.createElement("label");
      wrap.className = "transfer-option";
      const input = document.createElement("input");
      input.type = "radio";
      input.name = "transfer-strategy";
      input.value = s.key;
      input.checked = i === 0;
      input.addEventListener("change", () => show(s.key));
      wrap.append(input, ` ${s.label}`);
      fieldset.append(wrap);
    });
    data.cases.forEach((c) => {
      const td = root.querySelector(`tr[data-size="${c.size}"] td[data-similarity="${c.similarity}"]`);
      if (!td) return;
      td.dataset.strategy = c.strategy;
      const button = document.createElement("button");
      button.type = "button";
      button.className = "link-button transfer-case";
      const title = document.createElement("strong");
      title.textContent = `${label("Recommended")}: ${c.strategy_label}`;
      const reason = document.createElement("span");
      reason.textContent = c.reason;
      button.append(title, document.createElement("br"), reason);
      button.addEventListener("click", () => show(c.strategy));
      td.replaceChildren(button);
    });
    show(data.strategies[0].key);
  }

  fetch(root.dataset.countsUrl, { headers: { Accept: "application/json" } })
    .then((r) => { if (!r.ok) throw new Error(r.statusText); return r.json(); })
    .then((json) => { data = json; part("status").hidden = true; render(); })
    .catch(() => { part("status").textContent = label("Error"); });
})();
