// Lesson 8 widget: trainable vs frozen parameters per strategy, and the four cases.
// Data: GET data-counts-url (api:arch-transfer-learning). Helpers: widget-kit.js.
"use strict";
(() => {
  const { el, errorText, fetchJson, fill, formatNumber: fmt, lang, mount, scope } = window.WidgetKit;

  function setupCounts(root) {
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
  }

  // Second part: a real transfer-learning run on the student's ZIP. POST data-runs-url
  // (api:transfer-run-create), poll the run's URL, then POST <run url>predict/ with a photo.
  function setupRun(box) {
    const { part, label } = scope(box);
    const form = part("run-form");
    const status = part("run-status");
    let runUrl = null;

    function showEpochs(rows) {
      const table = part("run-epochs");
      table.hidden = rows.length === 0;
      table.tBodies[0].replaceChildren(...rows.map((row) => el("tr", {},
        el("td", { text: String(row.epoch) }),
        el("td", { text: String(row.lr) }),
        el("td", { text: fmt(row.train_loss, 4) }),
        el("td", { text: fmt(row.val_loss, 4) }),
        el("td", { text: fmt(row.val_accuracy, 3) }))));
    }

    function showResult(run) {
      const result = run.result || {};
      const table = part("confusion");
      const head = el("tr", {}, el("td"), ...run.classes.map((c) => el("th", { scope: "col", text: c })));
      const rows = (result.confusion || []).map((counts, i) => el("tr", {},
        el("th", { scope: "row", text: run.classes[i] }),
        ...counts.map((n) => el("td", { text: String(n) }))));
      table.replaceChildren(el("thead", {}, head), el("tbody", {}, ...rows));
      part("wrong").replaceChildren(...(result.wrong || []).map((w) =>
        el("li", { text: `${w.name}: ${w.true} → ${w.predicted} (${fmt(w.probability, 2)})` })));
      part("run-code").textContent = result.code || "";
      part("run-result").hidden = false;
    }

    async function poll() {
      const { ok, status: code, data } = await fetchJson(runUrl);
      if (!ok) { status.textContent = errorText(label("Failed"), data, code); return; }
      showEpochs(data.epochs || []);
      if (data.state === "done") {
        status.textContent = fill(label("Done"), { accuracy: fmt(data.val_accuracy, 3) });
        showResult(data);
      } else if (data.state === "failed") {
        status.textContent = `${label("Failed")} ${data.detail}`;
      } else {
        status.textContent = data.state === "running" ? label("Running") : label("Queued");
        setTimeout(poll, 1500);
      }
    }

    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const body = new FormData(form);
      if (!body.get("freeze")) body.delete("freeze");
      if (!form.elements.augment.checked) body.set("augment", "false");
      part("run-result").hidden = true;
      const { ok, status: code, data } = await fetchJson(box.dataset.runsUrl, {
        method: "POST", body, csrfFrom: form,
      });
      if (!ok) { status.textContent = errorText(label("RunError"), data, code); return; }
      runUrl = data.url;
      poll();
    });

    part("predict-form").addEventListener("submit", async (event) => {
      event.preventDefault();
      const predictForm = event.target;
      const { ok, status: code, data } = await fetchJson(`${runUrl}predict/`, {
        method: "POST", body: new FormData(predictForm), csrfFrom: predictForm,
      });
      part("prediction").textContent = ok
        ? data.top.map((t) => `${t.label} ${fmt(100 * t.probability, 1)} %`).join(" · ")
        : errorText(label("PredictError"), data, code);
    });
  }

  mount("transfer-learning", (root) => {
    setupCounts(root);
    const box = root.querySelector('[data-role="run"]');
    if (box) setupRun(box);
  });
})();
