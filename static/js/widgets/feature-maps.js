// Lesson 4 widget: feature maps of a chosen image, network and layer.
// Talks to GET /api/v1/cnn-models/ and POST /api/v1/feature-maps/; all text shown
// comes from data-label-* attributes translated on the server.
"use strict";

(function () {
  function csrfToken(form) {
    const input = form.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function format(template, values) {
    return template.replace(/\{(\w+)\}/g, (_, key) => (key in values ? values[key] : ""));
  }

  function setup(root) {
    const form = root.querySelector("[data-role=form]");
    const modelSelect = root.querySelector("[data-role=model]");
    const layerSelect = root.querySelector("[data-role=layer]");
    const topk = root.querySelector("[data-role=topk]");
    const upload = root.querySelector("[data-role=upload]");
    const uploadChoice = root.querySelector("[data-role=upload-choice]");
    const strongest = root.querySelector("[data-role=strongest]");
    const status = root.querySelector("[data-role=status]");
    const result = root.querySelector("[data-role=result]");
    const labels = root.dataset;
    let models = {};
    let last = null;
    let pending = 0;

    function fillLayers() {
      const model = models[modelSelect.value];
      const previous = layerSelect.value;
      layerSelect.replaceChildren();
      if (!model) return;
      model.layers.forEach((layer) => {
        const option = document.createElement("option");
        option.value = layer.name;
        option.textContent = `${layer.name} — ${layer.shape.join("×")}`;
        option.title = layer.label;
        layerSelect.append(option);
      });
      if (model.layers.some((layer) => layer.name === previous)) layerSelect.value = previous;
    }

    function source() {
      const checked = form.querySelector("input[name=source]:checked");
      return checked ? checked.value : "";
    }

    function showGrid() {
      if (!last) return;
      root.querySelector("[data-role=grid]").src = strongest.checked
        ? last.strongest_grid_url
        : last.grid_url;
    }

    function render(data) {
      last = data;
      root.querySelector("[data-role=input]").src = data.input_url;
      root.querySelector("[data-role=input-note]").textContent = data.input_note;
      root.querySelector("[data-role=shape-label]").textContent = labels.labelShape;
      root.querySelector("[data-role=shape]").textContent = data.shape.join(" × ");
      root.querySelector("[data-role=layer-label]").textContent = data.label;

      const top5Box = root.querySelector("[data-role=top5-box]");
      const top5 = root.querySelector("[data-role=top5]");
      top5.replaceChildren();
      top5Box.hidden = !data.top5;
      (data.top5 || []).forEach((item) => {
        const li = document.createElement("li");
        const bar = document.createElement("progress");
        bar.max = 1;
        bar.value = item.probability;
        li.append(`${item.label} `, bar, ` ${(item.probability * 100).toFixed(1)}%`);
        top5.append(li);
      });

      const filtersBox = root.querySelector("[data-role=filters-box]");
      filtersBox.hidden = !data.filters_url;
      if (data.filters_url) root.querySelector("[data-role=filters]").src = data.filters_url;

      const channels = root.querySelector("[data-role=channels]");
      channels.replaceChildren();
      data.maps.forEach((item) => {
        const li = document.createElement("li");
        const img = document.createElement("img");
        img.src = item.png_url;
        img.alt = `${labels.labelChannel} ${item.channel}`;
        img.className = "pixelated";
        img.loading = "lazy";
        const caption = document.createElement("span");
        caption.textContent =
          `${labels.labelChannel} ${item.channel} · ${labels.labelMean} ${item.mean.toFixed(2)}` +
          ` · ${labels.labelMax} ${item.max.toFixed(2)}`;
        li.append(img, caption);
        channels.append(li);
      });
      showGrid();
      result.hidden = false;
      status.textContent = format(labels.labelDone, {
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
      const chosen = source();
      if (chosen === "run") body.append("run", root.dataset.run);
      else if (chosen.startsWith("sample:")) body.append("sample", chosen.slice(7));
      else if (chosen === "upload" && upload.files.length) body.append("image", upload.files[0]);
      else return;
      const ticket = ++pending;
      status.textContent = labels.labelLoading;
      root.setAttribute("aria-busy", "true");
      try {
        const response = await fetch(root.dataset.api, {
          method: "POST",
          body,
          credentials: "same-origin",
          headers: { "X-CSRFToken": csrfToken(form), Accept: "application/json" },
        });
        const data = await response.json().catch(() => ({}));
        if (ticket !== pending) return; // a newer request is on its way
        if (!response.ok) {
          status.textContent = `${labels.labelError} ${data.detail || response.status}`;
          return;
        }
        render(data);
      } catch (error) {
        if (ticket === pending) status.textContent = labels.labelError;
      } finally {
        if (ticket === pending) root.removeAttribute("aria-busy");
      }
    }

    async function loadModels() {
      const response = await fetch(root.dataset.modelsUrl, {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      });
      if (!response.ok) throw new Error(String(response.status));
      const rows = await response.json();
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
        status.textContent = labels.labelError;
      });
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll("[data-widget=feature-maps]").forEach(setup);
  });
})();
