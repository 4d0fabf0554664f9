// Person demo: upload with a progress bar, and instant threshold re-filtering on
// the result page. Loaded with `defer`; no inline scripts (CSP). Every text shown
// comes from data-* attributes the server translated.
"use strict";

(() => {
  // Box colours (Okabe-Ito), the same order the server uses for annotated.jpg.
  const PALETTE = ["#e69f00", "#56b4e9", "#009e73", "#f0e442", "#0072b2", "#d55e00", "#cc79a7"];

  function bindThresholdOutput(scope) {
    scope.querySelectorAll("input[type=range]").forEach((slider) => {
      const output = scope.querySelector(`output[for="${slider.id}"]`);
      if (!output) return;
      const show = () => { output.textContent = Number(slider.value).toFixed(2); };
      slider.addEventListener("input", show);
      show();
    });
  }

  // --- Upload page ---------------------------------------------------------------
  function initUpload(form) {
    const input = form.querySelector("input[type=file]");
    const zone = form.querySelector("[data-dropzone]");
    const list = form.querySelector("[data-file-list]");
    const progressBox = form.querySelector("[data-progress]");
    const bar = progressBox.querySelector("progress");
    const text = progressBox.querySelector("[data-progress-text]");
    const maxFiles = Number(form.dataset.maxFiles || "0");
    const buttons = () => form.querySelectorAll("button[type=submit]");
    bindThresholdOutput(form);

    // Score scales differ between detectors: until the student moves the slider,
    // it follows the chosen detector's own default threshold.
    const select = form.querySelector("select[name=detector]");
    const slider = form.querySelector("input[type=range]");
    if (select && slider) {
      let touched = false;
      slider.addEventListener("input", () => { touched = true; });
      select.addEventListener("change", () => {
        const option = select.selectedOptions[0];
        if (touched || !option || !option.dataset.defaultThreshold) return;
        slider.value = option.dataset.defaultThreshold;
        const output = form.querySelector(`output[for="${slider.id}"]`);
        if (output) output.textContent = Number(slider.value).toFixed(2);
      });
    }

    // A sample chosen from a lesson (?sample=) gives way to the student's own photos.
    const chosenSample = form.querySelector("[data-sample-chosen]");
    const sampleInput = form.querySelector("input[name=sample]");
    const showFiles = () => {
      if (chosenSample && input.files && input.files.length) {
        chosenSample.hidden = true;
        if (sampleInput) sampleInput.value = "";
      }
      list.replaceChildren();
      Array.from(input.files || []).forEach((file) => {
        const item = document.createElement("li");
        item.textContent = `${file.name} (${(file.size / 1024 / 1024).toFixed(1)} MB)`;
        list.append(item);
      });
    };
    input.addEventListener("change", showFiles);
    zone.addEventListener("dragover", (event) => {
      event.preventDefault();
      zone.classList.add("is-over");
    });
    zone.addEventListener("dragleave", () => zone.classList.remove("is-over"));
    zone.addEventListener("drop", (event) => {
      event.preventDefault();
      zone.classList.remove("is-over");
      if (event.dataTransfer && event.dataTransfer.files.length) {
        input.files = event.dataTransfer.files;
        showFiles();
      }
    });

    const fail = (message) => {
      text.textContent = message;
      progressBox.classList.add("is-error");
      buttons().forEach((b) => { b.disabled = false; });
    };

    form.addEventListener("submit", (event) => {
      if (!window.FormData || !window.XMLHttpRequest) return; // plain POST
      event.preventDefault();
      if (maxFiles && input.files && input.files.length > maxFiles) {
        progressBox.hidden = false;
        fail(form.dataset.msgTooMany);
        return;
      }
      buttons().forEach((b) => { b.disabled = true; });
      progressBox.hidden = false;
      progressBox.classList.remove("is-error");
      bar.value = 0;
      text.textContent = form.dataset.msgUploading;

      const action = new URL(form.getAttribute("action") || window.location.href, window.location.href);
      const xhr = new XMLHttpRequest();
      xhr.open("POST", action.href);
      xhr.responseType = "document";
      xhr.upload.addEventListener("progress", (e) => {
        if (!e.lengthComputable) return;
        const percent = Math.round((e.loaded / e.total) * 100);
        bar.value = percent;
        text.textContent = `${form.dataset.msgUploading} ${percent}%`;
      });
      xhr.upload.addEventListener("load", () => {
        bar.value = 100;
        text.textContent = form.dataset.msgProcessing;
      });
      xhr.addEventListener("load", () => {
        if (xhr.status < 200 || xhr.status >= 300) {
          fail(form.dataset.msgFailed);
          return;
        }
        const landed = xhr.responseURL ? new URL(xhr.responseURL) : action;
        if (landed.pathname !== action.pathname) {
          // The server redirected (POST → redirect → GET): go where it sent us.
          window.location.assign(landed.href);
          return;
        }
        // The form came back with errors: show the new page's content.
        const fresh = xhr.response && xhr.response.querySelector("main");
        if (!fresh) {
          fail(form.dataset.msgFailed);
          return;
        }
        document.querySelector("main").replaceWith(document.adoptNode(fresh));
        window.scrollTo(0, 0);
        init();
      });
      xhr.addEventListener("error", () => fail(form.dataset.msgFailed));
      xhr.send(new FormData(form));
    });
  }

  // --- Result page ---------------------------------------------------------------
  function initResult(root) {
    const slider = root.querySelector("[data-threshold]");
    if (!slider) return;
    const output = root.querySelector("[data-threshold-output]");
    const count = root.querySelector("[data-count]");
    const crops = Array.from(root.querySelectorAll("[data-crop]"));
    const empty = root.querySelector("[data-no-persons]");
    const zip = root.querySelector("[data-zip-link]");
    const apply = root.querySelector("[data-threshold-apply]");
    const figure = root.querySelector("[data-annotated]");
    const img = figure.querySelector("[data-annotated-img]");
    const canvas = figure.querySelector("[data-annotated-canvas]");
    if (apply) apply.hidden = true;

    const photo = new Image();
    let photoReady = false;
    let moved = false;

    const draw = (shown) => {
      if (!photoReady) return;
      const w = photo.naturalWidth;
      const h = photo.naturalHeight;
      canvas.width = w;
      canvas.height = h;
      const ctx = canvas.getContext("2d");
      ctx.drawImage(photo, 0, 0);
      const short = Math.min(w, h);
      const line = Math.max(2, Math.round(short / 250));
      const font = Math.max(14, Math.round(short / 28));
      ctx.font = `bold ${font}px sans-serif`;
      ctx.textBaseline = "top";
      shown.forEach((item, i) => {
        const [x1, y1, x2, y2] = item.dataset.box.split(",").map(Number);
        const colour = PALETTE[i % PALETTE.length];
        ctx.lineWidth = line;
        ctx.strokeStyle = colour;
        ctx.strokeRect(x1 + line / 2, y1 + line / 2, x2 - x1 - line, y2 - y1 - line);
        const label = String(i + 1);
        const pad = Math.max(2, line);
        const tagW = ctx.measureText(label).width + 2 * pad;
        const tagH = font + 2 * pad;
        const tagX = Math.min(Math.max(0, x1), Math.max(0, w - tagW));
        const tagY = y1 - tagH >= 0 ? y1 - tagH : Math.max(0, y1);
        ctx.fillStyle = colour;
        ctx.fillRect(tagX, tagY, tagW, tagH);
        ctx.fillStyle = i % PALETTE.length === 4 || i % PALETTE.length === 5 ? "#fff" : "#000";
        ctx.fillText(label, tagX + pad, tagY + pad);
      });
      canvas.hidden = false;
      img.hidden = true;
    };

    const update = () => {
      moved = true;
      const t = Number(slider.value);
      const shown = [];
      crops.forEach((item) => {
        const visible = Number(item.dataset.score) >= t;
        item.hidden = !visible;
        if (visible) {
          shown.push(item);
          item.querySelector("[data-crop-index]").textContent = String(shown.length);
        }
      });
      count.textContent = String(shown.length);
      if (output) output.textContent = t.toFixed(2);
      if (empty) empty.hidden = shown.length > 0;
      if (zip) {
        const url = new URL(zip.href, window.location.href);
        url.searchParams.set("score_threshold", String(t));
        zip.href = url.pathname + url.search;
      }
      const page = new URL(window.location.href);
      page.searchParams.set("score_threshold", String(t));
      window.history.replaceState(null, "", page.pathname + page.search);
      draw(shown);
    };

    photo.addEventListener("load", () => {
      photoReady = true;
      if (moved) update(); // the slider moved before the photo arrived
    });
    photo.src = figure.dataset.imageUrl;
    slider.addEventListener("input", update);
    root.querySelector("[data-threshold-form]").addEventListener("submit", (e) => {
      e.preventDefault();
      update();
    });
  }

  function init() {
    document.querySelectorAll("form[data-upload]").forEach(initUpload);
    document.querySelectorAll("[data-people-result]").forEach(initResult);
  }

  document.addEventListener("DOMContentLoaded", init);
})();
