// Lesson 1, second panel: the notes' convolution worked cell by cell (CNN Explainer's
// formula view). Numbers from data-api (api:playground-conv-steps, the Python the
// tests hold against F.conv2d); this script only highlights and writes them out.
"use strict";

(function () {
  const { el, errorText, fetchJson, fill, mount, scope } = window.WidgetKit;

  function setup(root) {
    const { part, label } = scope(root);
    const status = part("status");
    let data = null;
    let index = 0;

    function table(values, caption, { window = null, onPick = null, filled = null } = {}) {
      const body = el("tbody");
      values.forEach((row, r) => {
        const tr = el("tr");
        row.forEach((value, c) => {
          const inside = window && r >= window.row && r < window.row + window.k
            && c >= window.col && c < window.col + window.k;
          const shown = filled === null || filled(r, c);
          const td = el("td", { text: shown ? String(value) : "", className: inside ? "in-window" : "" });
          if (filled && r === window.row && c === window.col) td.classList.add("current");
          if (onPick) {
            td.classList.add("pickable");
            td.addEventListener("click", () => onPick(r, c));
          }
          tr.append(td);
        });
        body.append(tr);
      });
      return el("figure", { className: "conv-grid" },
        el("table", { className: "numbers" }, body), el("figcaption", { text: caption }));
    }

    function draw() {
      const step = data.steps[index];
      const k = data.kernels[0].length;
      const width = data.output[0].length;
      const window = { row: step.row, col: step.col, k };
      const grids = part("grids");
      grids.replaceChildren();
      data.input.forEach((channel, c) => {
        const name = data.input.length > 1 ? `${fill(label("Channel"), { channel: c + 1 })} ` : "";
        grids.append(table(channel, `${name}${label("Input")} ${channel.length}×${channel[0].length}`, { window }));
        grids.append(table(data.kernels[c], `${name}${label("Kernel")} ${k}×${k}`));
      });
      grids.append(table(data.output, `${label("Output")} ${data.output.length}×${width}`, {
        window: { row: step.row, col: step.col, k: 1 },
        filled: (r, c) => r * width + c <= index,
        onPick: (r, c) => { index = r * width + c; draw(); },
      }));
      part("position").textContent = fill(label("Position"), { row: step.row, col: step.col });
      const lines = step.products.map((products, c) => {
        const terms = products.map((p, t) => {
          const i = Math.floor(t / k);
          const j = t % k;
          const x = data.input[c][step.row + i][step.col + j];
          const w = data.kernels[c][i][j];
          return `${w}×${x}`;
        });
        const prefix = data.input.length > 1 ? `${fill(label("Channel"), { channel: c + 1 })} ` : "";
        return el("p", {}, el("code", { text: `${prefix}${terms.join(" + ")} = ${step.channel_sums[c]}` }));
      });
      if (data.input.length > 1 || data.bias) {
        const sums = step.channel_sums.join(" + ");
        lines.push(el("p", {}, el("code", { text: `${sums} + ${data.bias} (${label("Bias")}) = ${step.total}` })));
        lines.push(el("p", { text: fill(label("Total"), { total: step.total }) }));
      }
      part("formula").replaceChildren(...lines);
    }

    async function load(example) {
      const { ok, status: code, data: body } = await fetchJson(root.dataset.api, { query: { example } });
      if (!ok) {
        status.textContent = errorText(label("Error"), body, code);
        return;
      }
      data = body;
      index = 0;
      draw();
    }

    root.querySelectorAll("[data-role=example]").forEach((input) => {
      input.addEventListener("change", () => load(input.value));
    });
    part("next").addEventListener("click", () => {
      if (!data) return;
      index = (index + 1) % data.steps.length;
      draw();
    });
    part("previous").addEventListener("click", () => {
      if (!data) return;
      index = (index - 1 + data.steps.length) % data.steps.length;
      draw();
    });
    load("single").catch(() => { status.textContent = label("Error"); });
  }

  mount("conv-steps", setup);
})();
