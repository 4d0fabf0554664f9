// Lesson 7 widget: build a stack of layers; the server measures it.
// Data: GET data-presets-url (api:stack-presets), POST data-calculate-url
// (api:stack-calculate). The arithmetic lives on the server (demos/ml/stack_calculator.py):
// this script only edits the stack and shows the answer. Typing sends nothing until every
// field holds a number in range (then once, after a pause); leaving a field (change) always
// asks, so a real mistake gets the server's sentence.
"use strict";
(() => {
  const { el, fetchJson, fill, formatNumber: fmt, mount, scope } = window.WidgetKit;
  const KINDS = ["conv", "separable", "maxpool", "avgpool"];
  const ADD = {
    "conv-3": { kind: "conv", kernel: 3, stride: 1, padding: 1, bias: true },
    "conv-5": { kind: "conv", kernel: 5, stride: 1, padding: 2, bias: true },
    "conv-1": { kind: "conv", kernel: 1, stride: 1, padding: 0, bias: true },
    "separable-3": { kind: "separable", kernel: 3, stride: 1, padding: 1, bias: false },
    "maxpool-2": { kind: "maxpool", kernel: 2, stride: 2, padding: 0, bias: false },
  };
  const isConv = (kind) => kind === "conv" || kind === "separable";
  const DEBOUNCE_MS = 300;

  function setup(root) {
    const { part, label } = scope(root);
    const body = part("stack").tBodies[0];
    const inputs = {
      channels: root.querySelector("input[name=channels]"),
      height: root.querySelector("input[name=height]"),
      width: root.querySelector("input[name=width]"),
    };
    let layers = [];
    let reference = [];
    let lastAnswer = null;
    let timer = null;
    let inFlight = null;

    // The channels reaching layer i: from the last answer, else the input's.
    function channelsBefore(index) {
      const rows = lastAnswer ? lastAnswer.stack.layers : [];
      if (index > 0 && rows[index - 1]) return rows[index - 1].out_shape[0];
      return Number(inputs.channels.value) || 16;
    }

    function numberInput(name, value, min, max, title) {
      const input = el("input", { type: "number", name, min, max, required: true, value: String(value) });
      input.setAttribute("aria-label", title);
      return input;
    }

    function renderRows() {
      body.replaceChildren();
      if (!layers.length) {
        const row = el("tr");
        row.append(el("td", { colSpan: 11, className: "muted", text: label("Empty") }));
        body.append(row);
      }
      layers.forEach((layer, index) => {
        const name = fill(label("Layer"), { n: index + 1 });
        const row = el("tr", { dataset: { index: String(index) } });
        const kind = el("select", { name: "kind" });
        kind.setAttribute("aria-label", `${name}: ${label("Kind")}`);
        KINDS.forEach((key) => kind.append(el("option", { value: key, text: label(key[0].toUpperCase() + key.slice(1)) })));
        kind.value = layer.kind;
        const out = numberInput("out_channels", layer.out_channels ?? "", 1, 4096, `${name}: ${label("Out")}`);
        const bias = el("input", { type: "checkbox", name: "bias", checked: Boolean(layer.bias) });
        bias.setAttribute("aria-label", `${name}: ${label("Bias")}`);
        const actions = el("div", { className: "stack-actions", dataset: { role: "actions" } });
        row.append(
          el("td", { text: String(index + 1) }),
          el("td", {}, kind, actions),
          el("td", {}, numberInput("kernel", layer.kernel, 1, 11, `${name}: ${label("Kernel")}`)),
          el("td", {}, numberInput("stride", layer.stride, 1, 4, `${name}: ${label("Stride")}`)),
          el("td", {}, numberInput("padding", layer.padding, 0, 5, `${name}: ${label("Padding")}`)),
          el("td", {}, out),
          el("td", {}, bias),
          el("td", { className: "stack-shape", dataset: { role: "shape" } }),
          el("td", { className: "num", dataset: { role: "params" } }),
          el("td", { className: "num", dataset: { role: "macs" } }),
          el("td", { className: "num", dataset: { role: "field" } }),
        );
        body.append(row);
        refreshRow(row, layer, index);
      });
    }

    // What depends on a row's settings: which fields apply, which actions make sense.
    function refreshRow(row, layer, index) {
      const conv = isConv(layer.kind);
      row.querySelector("[name=out_channels]").disabled = !conv;
      row.querySelector("[name=bias]").disabled = !conv;
      const actions = row.querySelector("[data-role=actions]");
      actions.replaceChildren();
      if (layer.kind === "conv" && layer.kernel >= 5 && layer.kernel % 2 === 1 && layer.stride === 1
          && (layer.padding === 0 || layer.padding === (layer.kernel - 1) / 2)) {
        actions.append(actionButton("→ 3×3", "split", index, label("Split")));
      }
      if (conv && layer.kernel > 1) actions.append(actionButton("+ 1×1", "reduce", index, label("Reduce")));
      actions.append(actionButton("✕", "remove", index, label("Remove")));
    }

    function actionButton(text, action, index, title) {
      const button = el("button", { type: "button", className: "button small secondary", text });
      button.dataset.action = action;
      button.dataset.index = String(index);
      if (title) {
        button.setAttribute("aria-label", title);
        button.title = title;
      }
      return button;
    }

    // Read the table back into `layers`. `empty`: a field has no number yet;
    // `complete`: every field holds a number within its input's range.
    function readRows() {
      let complete = true;
      let empty = false;
      const check = (input) => {
        const ok = input.value !== "" && input.checkValidity();
        input.toggleAttribute("aria-invalid", !ok);
        if (input.value === "") empty = true;
        if (!ok) complete = false;
        return input.value !== "";
      };
      body.querySelectorAll("tr[data-index]").forEach((row) => {
        const layer = layers[Number(row.dataset.index)];
        layer.kind = row.querySelector("[name=kind]").value;
        ["kernel", "stride", "padding", "out_channels"].forEach((field) => {
          const input = row.querySelector(`[name=${field}]`);
          if (input.disabled) return;
          // An out-of-range number is kept: the server says what is wrong with it.
          if (check(input)) layer[field] = Number(input.value);
        });
        layer.bias = row.querySelector("[name=bias]").checked;
      });
      Object.values(inputs).forEach(check);
      return { complete, empty };
    }

    function payload(list) {
      return list.map((layer) => ({
        kind: layer.kind,
        kernel: layer.kernel,
        stride: layer.stride,
        padding: layer.padding,
        out_channels: isConv(layer.kind) ? layer.out_channels : null,
        bias: isConv(layer.kind) ? Boolean(layer.bias) : false,
      }));
    }

    function say(text, isError) {
      part("status").textContent = text;
      part("status").classList.toggle("is-error", Boolean(isError));
    }

    async function calculate() {
      clearTimeout(timer);
      if (inFlight) inFlight.abort();
      const controller = new AbortController();
      inFlight = controller;
      const json = {
        input: {
          channels: Number(inputs.channels.value),
          height: Number(inputs.height.value),
          width: Number(inputs.width.value),
        },
        layers: payload(layers),
      };
      if (reference.length) json.reference = payload(reference);
      try {
        const { ok, data } = await fetchJson(root.dataset.calculateUrl, {
          method: "POST", json, csrfFrom: root, signal: controller.signal,
        });
        if (controller !== inFlight) return;
        if (!ok) {
          root.classList.add("is-stale");
          say(`${label("Error")} ${data.detail || ""}`.trim(), true);
          return;
        }
        root.classList.remove("is-stale");
        say("");
        lastAnswer = data;
        showAnswer(data);
      } catch (error) {
        if (error.name !== "AbortError") say(label("Failed"), true);
      }
    }

    function showAnswer(data) {
      const rows = body.querySelectorAll("tr[data-index]");
      data.stack.layers.forEach((result, index) => {
        const row = rows[index];
        if (!row) return;
        row.querySelector("[data-role=shape]").textContent = result.out_shape.join(" × ");
        const params = row.querySelector("[data-role=params]");
        params.replaceChildren(fmt(result.params));
        if (result.params) params.append(el("small", { className: "stack-formula", text: result.params_formula }));
        row.querySelector("[data-role=macs]").textContent = fmt(result.macs / 1e6, 2);
        row.querySelector("[data-role=field]").textContent = `${result.receptive_field}×${result.receptive_field}`;
      });
      part("total-shape").textContent = data.stack.output_shape.join(" × ");
      part("total-params").textContent = fmt(data.stack.params);
      part("total-macs").textContent = fmt(data.stack.macs / 1e6, 2);
      part("total-field").textContent = `${data.stack.receptive_field}×${data.stack.receptive_field}`;
      showReference(data);
    }

    function describe(list) {
      return list.map((layer) => {
        const window = `${layer.kernel}×${layer.kernel}`;
        return isConv(layer.kind) ? `${window} → ${layer.out_channels}` : `${label(layer.kind[0].toUpperCase() + layer.kind.slice(1))} ${window}`;
      }).join(", ");
    }

    function verdict(ratio) {
      if (ratio === null || ratio === undefined) return "—";
      if (Math.abs(ratio - 1) < 0.005) return label("Same");
      if (ratio > 1) return fill(label("Fewer"), { ratio: fmt(ratio, 2) });
      return fill(label("More"), { ratio: fmt(1 / ratio, 2) });
    }

    function showReference(data) {
      if (!data.reference) {
        part("reference").textContent = label("NoReference");
        part("verdict").textContent = "";
        return;
      }
      const ref = data.reference;
      part("reference").textContent = fill(label("Reference"), {
        layers: describe(reference),
        params: fmt(ref.params),
        macs: fmt(ref.macs / 1e6, 2),
        field: ref.receptive_field,
      });
      part("verdict").textContent = [
        fill(label("ParamsVerdict"), { verdict: verdict(data.comparison.params_ratio) }),
        fill(label("MacsVerdict"), { verdict: verdict(data.comparison.macs_ratio) }),
      ].join(" ");
    }

    // After an edit: measure once the numbers are complete. While typing, only a
    // stack whose every field is in range is sent (after a pause); leaving a field
    // (change) also sends an out-of-range number, so the server can explain it.
    function edited(immediately) {
      const { complete, empty } = readRows();
      clearTimeout(timer);
      if (empty) {
        say(label("Incomplete"));
        return;
      }
      if (!complete && !immediately) return;
      if (part("status").textContent === label("Incomplete")) say("");
      if (immediately) calculate();
      else timer = setTimeout(calculate, DEBOUNCE_MS);
    }

    body.addEventListener("input", (event) => {
      if (event.target.matches("input[type=number]")) edited(false);
    });
    Object.values(inputs).forEach((input) => {
      input.addEventListener("input", () => edited(false));
      input.addEventListener("change", () => edited(true));
    });
    body.addEventListener("change", (event) => {
      const target = event.target;
      const row = target.closest("tr[data-index]");
      if (row) {
        readRows();
        const index = Number(row.dataset.index);
        const layer = layers[index];
        if (target.name === "kind" && isConv(layer.kind) && !layer.out_channels) {
          layer.out_channels = channelsBefore(index);
          row.querySelector("[name=out_channels]").value = String(layer.out_channels);
        }
        refreshRow(row, layer, index); // fields and actions follow the settings
      }
      edited(true);
    });
    body.addEventListener("click", (event) => {
      const button = event.target.closest("button[data-action]");
      if (!button) return;
      readRows();
      const index = Number(button.dataset.index);
      const layer = layers[index];
      if (button.dataset.action === "remove") {
        layers.splice(index, 1);
      } else if (button.dataset.action === "split") {
        const pad = layer.padding === 0 ? 0 : 1;
        const threes = Array.from({ length: (layer.kernel - 1) / 2 }, () => (
          { ...layer, kernel: 3, padding: pad }));
        layers.splice(index, 1, ...threes);
      } else if (button.dataset.action === "reduce") {
        const reduced = Math.max(1, Math.round(channelsBefore(index) / 4));
        layers.splice(index, 0, { kind: "conv", kernel: 1, stride: 1, padding: 0, out_channels: reduced, bias: layer.bias });
      }
      renderRows();
      edited(true);
    });
    root.querySelectorAll("[data-add]").forEach((button) => {
      button.addEventListener("click", () => {
        readRows();
        const layer = { ...ADD[button.dataset.add] };
        const before = channelsBefore(layers.length);
        if (isConv(layer.kind)) layer.out_channels = layer.kernel === 1 ? Math.max(1, Math.round(before / 4)) : before;
        layers.push(layer);
        renderRows();
        edited(true);
      });
    });
    part("keep").addEventListener("click", () => {
      if (!readRows().complete) return;
      reference = layers.map((layer) => ({ ...layer }));
      calculate();
    });
    part("clear").addEventListener("click", () => {
      reference = [];
      readRows();
      calculate();
    });

    function loadPreset(preset, button) {
      part("presets").querySelectorAll("button").forEach((b) => b.setAttribute("aria-pressed", "false"));
      button.setAttribute("aria-pressed", "true");
      part("note").textContent = preset.note;
      [inputs.channels.value, inputs.height.value, inputs.width.value] = preset.input_shape.map(String);
      layers = preset.layers.map((layer) => ({ ...layer }));
      reference = preset.reference.map((layer) => ({ ...layer }));
      lastAnswer = null;
      renderRows();
      edited(true);
    }

    fetchJson(root.dataset.presetsUrl)
      .then(({ ok, data }) => {
        if (!ok) throw new Error("presets");
        data.presets.forEach((preset, index) => {
          const button = el("button", { type: "button", className: "button small secondary", text: preset.name });
          button.dataset.preset = preset.key;
          button.addEventListener("click", () => loadPreset(preset, button));
          part("presets").append(button);
          if (index === 0) loadPreset(preset, button);
        });
      })
      .catch(() => say(label("Failed"), true));
  }

  mount("stack-calculator", setup);
})();
