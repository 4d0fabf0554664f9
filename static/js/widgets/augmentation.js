// Lesson 9 widget: a grid of random augmentations of a sample or the student's photo.
// Samples: GET data-sample-png-url (cacheable PNG); uploads: POST the form (PNG back).
// Tile labels: GET data-plan-url (they depend only on the seed and the count).
// The sample options are rendered by the server (the select always names the photo
// shown); choosing an own photo adds a "your photo" option. Helpers: widget-kit.js.
"use strict";
(() => {
  const { el, fetchJson, mount, scope } = window.WidgetKit;

  function setup(root) {
    const { part, label } = scope(root);
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
        const li = el("li", { dataset: { wrong: String(t.wrong_for_digits) } },
          el("strong", { text: `${label("Tile")} ${t.index}: ` }),
          t.ops.map((op) => (op.detail ? `${op.label} (${op.detail})` : op.label)).join(" → "));
        const verdict = el("span", {
          className: `augment-verdict ${t.wrong_for_digits ? "badge off" : "badge ok"}`,
          text: t.wrong_for_digits ? label("Wrong") : label("Fine"),
        });
        verdict.hidden = part("answer-text").hidden;
        li.append(" ", verdict);
        t.ops.filter((op) => op.why).forEach((op) => {
          const why = el("p", { className: "augment-why help", text: `${op.label}: ${op.why}` });
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
        const answer = await fetchJson(root.dataset.planUrl, { query: { seed, count } });
        if (!answer.ok) throw new Error(answer.data.detail || label("Error"));
        const plan = answer.data;
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
    // The select names what the grid shows: a sample, or "your photo" while a file is chosen.
    function ownOption(show) {
      const select = part("sample");
      let option = select.querySelector("option[data-own]");
      if (show && !option) {
        option = el("option", { value: "", text: label("Own"), dataset: { own: "1" } });
        select.append(option);
      }
      if (show) option.selected = true;
      else if (option) option.remove();
    }
    part("sample").addEventListener("change", () => {
      if (part("image")) {
        part("image").value = "";
        part("image").dispatchEvent(new Event("file-picker:cleared"));
      }
      ownOption(false);
      run();
    });
    if (part("image")) {
      part("image").addEventListener("change", () => {
        ownOption(Boolean(part("image").files[0]));
        run();
      });
    }
    part("count").addEventListener("change", run);
    part("answer").addEventListener("click", () => {
      part("answer-text").hidden = false;
      part("answer").hidden = true;
      root.querySelectorAll(".augment-verdict, .augment-why").forEach((el) => { el.hidden = false; });
      root.querySelectorAll('.augment-tiles li[data-wrong="true"]').forEach((li) => li.classList.add("is-wrong"));
    });

    // A browser restoring the form after "back" may keep a file but not our option.
    if (part("image") && part("image").files[0]) ownOption(true);
    run();
  }

  mount("augmentation", setup);
})();
