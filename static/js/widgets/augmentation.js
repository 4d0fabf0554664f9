// Lesson 9 widget: a grid of random augmentations of a sample or the student's photo.
// Samples: GET data-sample-png-url (cacheable PNG); uploads: POST the form (PNG back).
// Tile labels: GET data-plan-url (they depend only on the seed and the count).
"use strict";
(() => {
  const root = document.querySelector('[data-widget="augmentation"]');
  if (!root) return;
  const part = (role) => root.querySelector(`[data-role="${role}"]`);
  const label = (name) => root.dataset[`label${name}`] || "";
  const form = part("form");
  const grid = part("grid");
  const original = part("original");
  let objectUrls = [];

  function forgetObjectUrls() {
    objectUrls.forEach((u) => URL.revokeObjectURL(u));
    objectUrls = [];
  }

  function showError(message) {
    const box = part("error");
    box.textContent = message || "";
    box.hidden = !message;
  }

  async function detail(response) {
    try { return (await response.json()).detail || label("Error"); } catch { return label("Error"); }
  }

  function renderTiles(plan) {
    const list = part("tiles");
    list.replaceChildren();
    plan.tiles.forEach((t) => {
      const li = document.createElement("li");
      li.dataset.wrong = String(t.wrong_for_digits);
      const head = document.createElement("strong");
      head.textContent = `${label("Tile")} ${t.index}: `;
      li.append(head, t.ops.map((op) => (op.detail ? `${op.label} (${op.detail})` : op.label)).join(" → "));
      const verdict = document.createElement("span");
      verdict.className = `augment-verdict ${t.wrong_for_digits ? "badge off" : "badge ok"}`;
      verdict.textContent = t.wrong_for_digits ? label("Wrong") : label("Fine");
      verdict.hidden = part("answer-text").hidden;
      li.append(" ", verdict);
      t.ops.filter((op) => op.why).forEach((op) => {
        const why = document.createElement("p");
        why.className = "augment-why help";
        why.textContent = `${op.label}: ${op.why}`;
        why.hidden = part("answer-text").hidden;
        li.append(why);
      });
      list.append(li);
    });
  }

  async function run() {
    showError("");
    const file = part("image") && part("image").files[0];
    const seed = part("seed").value || "0";
    const count = part("count").value;
    part("status").textContent = label("Working");
    try {
      const planResponse = await fetch(`${root.dataset.planUrl}?seed=${encodeURIComponent(seed)}&count=${encodeURIComponent(count)}`);
      if (!planResponse.ok) throw new Error(await detail(planResponse));
      const plan = await planResponse.json();
      forgetObjectUrls();
      let gridUrl;
      if (file) {
        const body = new FormData(form);
        body.delete("sample");
        const response = await fetch(form.action, { method: "POST", body, credentials: "same-origin" });
        if (!response.ok) throw new Error(await detail(response));
        gridUrl = URL.createObjectURL(await response.blob());
        objectUrls.push(gridUrl);
        const originalUrl = URL.createObjectURL(file);
        objectUrls.push(originalUrl);
        original.src = originalUrl;
        original.hidden = false;
      } else {
        const sample = part("sample");
        gridUrl = `${root.dataset.samplePngUrl.replace("SAMPLE", encodeURIComponent(sample.value))}?seed=${encodeURIComponent(seed)}&count=${encodeURIComponent(count)}`;
        const url = sample.selectedOptions[0] && sample.selectedOptions[0].dataset.url;
        original.hidden = !url;
        if (url) original.src = url;
      }
      grid.src = gridUrl;
      grid.width = plan.width;
      grid.height = plan.height;
      grid.hidden = false;
      renderTiles(plan);
      part("status").textContent = "";
    } catch (error) {
      part("status").textContent = "";
      showError(error.message || label("Error"));
    }
  }

  form.addEventListener("submit", (event) => { event.preventDefault(); run(); });
  part("reseed").addEventListener("click", () => {
    part("seed").value = String(Math.floor(Math.random() * 1e6));
    run();
  });
  part("sample").addEventListener("change", () => {
    if (part("image")) part("image").value = "";
    run();
  });
  if (part("image")) part("image").addEventListener("change", run);
  part("count").addEventListener("change", run);
  part("answer").addEventListener("click", () => {
    part("answer-text").hidden = false;
    part("answer").hidden = true;
    root.querySelectorAll(".augment-verdict, .augment-why").forEach((el) => { el.hidden = false; });
    root.querySelectorAll('.augment-tiles li[data-wrong="true"]').forEach((li) => li.classList.add("is-wrong"));
  });

  fetch(root.dataset.samplesUrl)
    .then((r) => r.json())
    .then((data) => {
      const select = part("sample");
      select.replaceChildren();
      data.samples.forEach((s) => {
        const option = document.createElement("option");
        option.value = s.key;
        option.textContent = s.label;
        option.dataset.url = s.url;
        select.append(option);
      });
    })
    .catch(() => {})  // the digit sample in the template still works
    .finally(run);
})();
