// Lesson 4 widget: feature maps of a chosen image, network and layer.
// Talks to GET data-models-url (api:cnn-model-list) and POST data-api
// (api:feature-map-create); all text shown comes from data-label-* attributes
// translated on the server. Helpers come from static/js/widget-kit.js.
"use strict";

(function () {
  const { el, errorText, fetchJson, fill, mount, scope } = window.WidgetKit;

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
      result.hidden = false;
      status.textContent = fill(label("Done"), {
        channels: data.shape[0],
        height: data.shape[1],
        width: data.shape[2],
      });
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
