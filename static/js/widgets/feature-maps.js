// Lesson 4 widget: feature maps of a chosen image, network and layer.
// Talks to GET data-models-url (api:cnn-model-list) and POST data-api
// (api:feature-map-create); all text shown comes from data-label-* attributes
// translated on the server. Helpers come from static/js/widget-kit.js.
"use strict";

(function () {
  const { el, errorText, fetchJson, fill, mount, scope } = window.WidgetKit;
  const COLOURS = ["R", "G", "B"];
  const num = (value, digits = 3) => Number(value).toFixed(digits);

  function loadImage(url) {
    return new Promise((resolve, reject) => {
      const image = new Image();
      image.onload = () => resolve(image);
      image.onerror = reject;
      image.src = url;
    });
  }

  function setup(root) {
    const { part, label } = scope(root);
    const form = part("form");
    const modelSelect = part("model");
    const layerSelect = part("layer");
    const topk = part("topk");
    const upload = part("upload");
    const uploadChoice = part("upload-choice");
    const strongest = part("strongest");
    const status = part("status");
    const result = part("result");
    let models = {};
    let last = null;
    let pending = 0;
    let camClass = null; // Grad-CAM of this top-5 class (null: the top one)

    function fillLayers() {
      const model = models[modelSelect.value];
      const previous = layerSelect.value;
      layerSelect.replaceChildren();
      if (!model) return;
      model.layers.forEach((layer) => {
        layerSelect.append(el("option", {
          value: layer.name, text: `${layer.name} — ${layer.shape.join("×")}`, title: layer.label,
        }));
      });
      if (model.layers.some((layer) => layer.name === previous)) layerSelect.value = previous;
    }

    function source() {
      const checked = form.querySelector("input[name=source]:checked");
      return checked ? checked.value : "";
    }

    function showGrid() {
      if (!last) return;
      part("grid").src = strongest.checked
        ? last.strongest_grid_url
        : last.grid_url;
    }

    function render(data) {
      last = data;
      part("input").src = data.input_url;
      part("input-note").textContent = data.input_note;
      part("shape-label").textContent = label("Shape");
      part("shape").textContent = data.shape.join(" × ");
      part("layer-label").textContent = data.label;

      const top5Box = part("top5-box");
      const top5 = part("top5");
      top5.replaceChildren();
      top5Box.hidden = !data.top5;
      (data.top5 || []).forEach((item) => {
        const bar = el("progress", { max: 1 });
        bar.value = item.probability;
        const row = el("li", {}, `${item.label} `, bar, ` ${(item.probability * 100).toFixed(1)}%`);
        if (item.index !== null && item.index !== undefined && data.cam) {
          const explain = el("button", { type: "button", className: "link-button", text: "Grad-CAM" });
          explain.setAttribute("aria-pressed", String(data.cam.index === item.index));
          explain.addEventListener("click", () => { camClass = item.index; submit(); });
          row.append(" ", explain);
        }
        top5.append(row);
      });

      const camBox = part("cam-box");
      camBox.hidden = !data.cam;
      if (data.cam) {
        part("cam").src = data.cam.overlay_url;
        part("cam-caption").textContent = fill(label("Cam"), { label: data.cam.label });
      }

      const filtersBox = part("filters-box");
      filtersBox.hidden = !data.filters_url;
      if (data.filters_url) part("filters").src = data.filters_url;

      const channels = part("channels");
      channels.replaceChildren();
      data.maps.forEach((item) => {
        // loading before src: a src set first starts the download at once. The
        // tile shows a placeholder until its PNG is in (layers have up to 2048).
        const img = el("img", {
          loading: "lazy",
          decoding: "async",
          width: 112,
          height: 112,
          alt: `${label("Channel")} ${item.channel}`,
          className: "pixelated is-loading",
          src: item.png_url,
        });
        if (linkable(data)) {
          img.classList.add("is-clickable");
          img.dataset.channel = String(item.channel);
          img.addEventListener("click", (event) => follow(data, item, img, event));
        }
        const loaded = () => img.classList.remove("is-loading");
        img.addEventListener("load", loaded, { once: true });
        img.addEventListener("error", loaded, { once: true });
        const caption = el("span", {
          text:
            `${label("Channel")} ${item.channel} · ${label("Mean")} ${item.mean.toFixed(2)}` +
            ` · ${label("Max")} ${item.max.toFixed(2)}`,
        });
        channels.append(el("li", {}, img, caption));
      });
      showGrid();
      const linked = part("linked");
      linked.hidden = !linkable(data);
      part("linked-pictures").hidden = true;
      part("linked-steps").hidden = true;
      part("linked-status").textContent = label("LinkedHint");
      result.hidden = false;
      status.textContent = fill(label("Done"), {
        channels: data.shape[0],
        height: data.shape[1],
        width: data.shape[2],
      });
    }

    // ---------------------------------------------------------------- linked view

    function linkable(data) {
      return Boolean(data.maps_id) && data.model === root.dataset.linkedModel;
    }

    let linkTicket = 0;

    async function follow(data, item, img, event) {
      const box = img.getBoundingClientRect();
      const [, height, width] = data.shape;
      const y = Math.min(height - 1, Math.floor(((event.clientY - box.top) / box.height) * height));
      const x = Math.min(width - 1, Math.floor(((event.clientX - box.left) / box.width) * width));
      const body = new FormData();
      body.append("maps_id", data.maps_id);
      body.append("model", data.model);
      body.append("layer", data.layer);
      body.append("channel", String(item.channel));
      body.append("y", String(Math.max(0, y)));
      body.append("x", String(Math.max(0, x)));
      const ticket = ++linkTicket;
      const linkedStatus = part("linked-status");
      linkedStatus.textContent = label("LinkedLoading");
      try {
        const { ok, status: code, data: view } = await fetchJson(root.dataset.linkedApi, {
          method: "POST", body, csrfFrom: form,
        });
        if (ticket !== linkTicket) return;
        if (!ok) {
          linkedStatus.textContent = errorText(label("Error"), view, code);
          return;
        }
        await renderLinked(data, item, view);
        linkedStatus.textContent = "";
      } catch (error) {
        if (ticket === linkTicket) linkedStatus.textContent = label("Error");
      }
    }

    async function drawPictures(data, item, view) {
      const [input, map] = await Promise.all([loadImage(data.input_url), loadImage(item.png_url)]);
      const inputCanvas = part("linked-input");
      const ctx = inputCanvas.getContext("2d");
      const scaleX = inputCanvas.width / view.input_size[1];
      const scaleY = inputCanvas.height / view.input_size[0];
      ctx.imageSmoothingEnabled = false;
      ctx.drawImage(input, 0, 0, inputCanvas.width, inputCanvas.height);
      const { top, left, bottom, right } = view.field;
      ctx.fillStyle = "rgba(0, 0, 0, 0.45)"; // dim what the pixel cannot see
      ctx.fillRect(0, 0, inputCanvas.width, top * scaleY);
      ctx.fillRect(0, bottom * scaleY, inputCanvas.width, inputCanvas.height - bottom * scaleY);
      ctx.fillRect(0, top * scaleY, left * scaleX, (bottom - top) * scaleY);
      ctx.fillRect(right * scaleX, top * scaleY, inputCanvas.width - right * scaleX, (bottom - top) * scaleY);
      ctx.strokeStyle = "#ff2d55";
      ctx.lineWidth = 3;
      ctx.strokeRect(left * scaleX, top * scaleY, (right - left) * scaleX, (bottom - top) * scaleY);

      const mapCanvas = part("linked-map");
      const mctx = mapCanvas.getContext("2d");
      mctx.imageSmoothingEnabled = false;
      mctx.drawImage(map, 0, 0, mapCanvas.width, mapCanvas.height);
      const cellW = mapCanvas.width / view.shape[2];
      const cellH = mapCanvas.height / view.shape[1];
      mctx.strokeStyle = "#ff2d55";
      mctx.lineWidth = 3;
      mctx.strokeRect(view.x * cellW, view.y * cellH, Math.max(cellW, 4), Math.max(cellH, 4));
    }

    function matrix(values, className, format) {
      const table = el("table", { className: `cnn-matrix ${className}` });
      values.forEach((row) => {
        const tr = el("tr");
        row.forEach((value) => tr.append(el("td", { text: format(value) })));
        table.append(tr);
      });
      return table;
    }

    function renderDot(view) {
      const dot = view.dot;
      const channels = part("linked-channels");
      channels.replaceChildren();
      dot.kernel.forEach((slice, c) => {
        const terms = [];
        slice.forEach((row, i) => row.forEach((w, j) => {
          terms.push(`(${num(dot.inputs[c][i][j])} × ${num(w)})`);
        }));
        const pixels = dot.pixels[c].map((row) => row.map((p) => (p === null ? label("LinkedPad") : p)));
        channels.append(el("figure", { className: "cnn-dot-channel" },
          el("figcaption", { text: COLOURS[c] || `c${c}` }),
          el("div", { className: "cnn-dot-tables" },
            matrix(pixels, "is-pixels", String),
            el("span", { text: "→" }),
            matrix(dot.inputs[c], "is-inputs", (v) => num(v, 2)),
            el("span", { text: "·" }),
            matrix(slice, "is-kernel", (v) => num(v, 2))),
          el("p", { className: "cnn-formula", text: `${terms.join(" + ")} = ${num(dot.sums[c])}` })));
      });
      part("linked-sum").textContent = fill(label("LinkedSum"), {
        terms: dot.sums.map((v) => num(v)).join(" + "),
        bias: num(dot.bias),
        pre: num(dot.pre_activation),
      });
      part("linked-relu").textContent = fill(label("LinkedRelu"), {
        pre: num(dot.pre_activation), value: num(dot.value),
      });
    }

    async function renderLinked(data, item, view) {
      const isStem = Boolean(view.dot);
      part("linked-dot").hidden = !isStem;
      part("linked-relu-step").hidden = !isStem;
      const deep = part("linked-deep");
      deep.hidden = isStem;
      if (isStem) renderDot(view);
      else deep.textContent = fill(label("LinkedDeep"), { value: num(view.value) });
      const field = view.field;
      part("linked-field-caption").textContent = fill(label("LinkedField"), {
        top: field.top, bottom: field.bottom - 1, left: field.left, right: field.right - 1,
        height: field.bottom - field.top, width: field.right - field.left, size: view.input_size[0],
      });
      part("linked-map-caption").textContent = fill(label("LinkedMap"), {
        layer: view.layer, channel: view.channel, y: view.y, x: view.x, value: num(view.value),
      });
      part("linked-pool").textContent = fill(
        label(view.feeds_classifier ? "LinkedPoolHead" : "LinkedPool"),
        { mean: num(view.channel_mean), channel: view.channel, height: view.shape[1], width: view.shape[2] },
      );
      const top = part("linked-top");
      top.replaceChildren();
      view.top.forEach((row) => {
        const bar = el("progress", { max: 1 });
        bar.value = row.probability;
        const li = el("li", {}, `${row.label} `, bar, ` ${(row.probability * 100).toFixed(1)}%`);
        if (row.contribution !== undefined) {
          li.append(el("span", {
            className: "cnn-share",
            text: ` — ${fill(label("LinkedShare"), { channel: view.channel, share: num(row.contribution) })}`,
          }));
        }
        top.append(li);
      });
      part("linked-pictures").hidden = false;
      part("linked-steps").hidden = false;
      await drawPictures(data, item, view);
    }

    async function submit() {
      if (!layerSelect.value) return;
      const body = new FormData();
      body.append("model", modelSelect.value);
      body.append("layer", layerSelect.value);
      body.append("top_k", topk.value || "12");
      if (camClass !== null) body.append("cam_class", String(camClass));
      camClass = null; // the next map request explains the top class again
      const chosen = source();
      if (chosen === "run") body.append("run", root.dataset.run);
      else if (chosen.startsWith("sample:")) body.append("sample", chosen.slice(7));
      else if (chosen === "upload" && upload.files.length) body.append("image", upload.files[0]);
      else return;
      const ticket = ++pending;
      status.textContent = label("Loading");
      root.setAttribute("aria-busy", "true");
      try {
        const { ok, status: code, data } = await fetchJson(root.dataset.api, {
          method: "POST", body, csrfFrom: form,
        });
        if (ticket !== pending) return; // a newer request is on its way
        if (!ok) {
          status.textContent = errorText(label("Error"), data, code);
          return;
        }
        render(data);
      } catch (error) {
        if (ticket === pending) status.textContent = label("Error");
      } finally {
        if (ticket === pending) root.removeAttribute("aria-busy");
      }
    }

    async function loadModels() {
      const { ok, status: code, data: rows } = await fetchJson(root.dataset.modelsUrl);
      if (!ok) throw new Error(String(code));
      models = Object.fromEntries(rows.map((row) => [row.key, row]));
      fillLayers();
    }

    form.addEventListener("submit", (event) => {
      event.preventDefault();
      submit();
    });
    modelSelect.addEventListener("change", () => {
      fillLayers();
      submit();
    });
    layerSelect.addEventListener("change", submit);
    strongest.addEventListener("change", showGrid);
    form.querySelectorAll("input[name=source]").forEach((radio) => {
      radio.addEventListener("change", submit);
    });
    upload.addEventListener("change", () => {
      if (upload.files.length) {
        uploadChoice.checked = true;
        submit();
      }
    });

    if (!root.dataset.loggedIn) return; // the API needs a login; the page says so
    loadModels()
      .then(submit)
      .catch(() => {
        status.textContent = label("Error");
      });
  }

  mount("feature-maps", setup);
})();
