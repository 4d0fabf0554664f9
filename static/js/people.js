// Person demo: upload with a progress bar, and instant threshold re-filtering of the
// SVG box overlay on the result and compare pages. Loaded with `defer`; no inline scripts (CSP). Every text shown
// comes from data-* attributes the server translated.
"use strict";

(() => {
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

  // --- Result and compare pages -------------------------------------------------
  // The photo is shown as it was stored; the boxes are an SVG overlay drawn in photo
  // pixels (viewBox = photo size), so it scales with the image. The server renders
  // every box down to the floor score; moving the slider only shows, hides and
  // renumbers them: no request, no model run. Attributes only (strict CSP: no
  // inline styles); colours come from the box-c0..box-c6 classes in people.css.
  const COLOURS = 7;

  function overlayOf(scope) {
    const svg = scope.querySelector("[data-overlay]");
    if (!svg) return null;
    const boxes = Array.from(svg.querySelectorAll("[data-overlay-box]"));
    const byRank = new Map(boxes.map((g) => [g.dataset.rank, g]));
    const font = Number(svg.dataset.font || "14");
    const [, , width] = svg.getAttribute("viewBox").split(" ").map(Number);

    // Place a box's number tag above it (inside when it touches the top edge).
    const placeTag = (g) => {
      const outline = g.querySelector(".box-outline");
      const tag = g.querySelector(".box-tag");
      const label = g.querySelector("[data-overlay-label]");
      const x = Number(outline.getAttribute("x"));
      const y = Number(outline.getAttribute("y"));
      const pad = Math.max(2, Math.round(font / 5));
      const textWidth = label.getComputedTextLength ? label.getComputedTextLength() : font * label.textContent.length * 0.6;
      const tagW = textWidth + 2 * pad;
      const tagH = font + 2 * pad;
      const tagX = Math.min(Math.max(0, x), Math.max(0, width - tagW));
      const tagY = y - tagH >= 0 ? y - tagH : y;
      tag.setAttribute("x", String(tagX));
      tag.setAttribute("y", String(tagY));
      tag.setAttribute("width", String(tagW));
      tag.setAttribute("height", String(tagH));
      label.setAttribute("x", String(tagX + pad));
      label.setAttribute("y", String(tagY + pad + font * 0.85));
    };

    // Tags already placed in this pass: a new tag moves down until it overlaps none.
    let placed = [];
    const overlapsPlaced = (x, y, w, h) =>
      placed.some((p) => x < p.x + p.w && p.x < x + w && y < p.y + p.h && p.y < y + h);
    const avoid = (g) => {
      const tag = g.querySelector(".box-tag");
      const label = g.querySelector("[data-overlay-label]");
      const x = Number(tag.getAttribute("x"));
      const w = Number(tag.getAttribute("width"));
      const h = Number(tag.getAttribute("height"));
      const [, , , height] = svg.getAttribute("viewBox").split(" ").map(Number);
      let y = Number(tag.getAttribute("y"));
      const shift = y;
      for (let tries = 0; tries < 20 && overlapsPlaced(x, y, w, h) && y + h < height; tries += 1) y += h;
      if (y !== shift) {
        tag.setAttribute("y", String(y));
        label.setAttribute("y", String(Number(label.getAttribute("y")) + (y - shift)));
      }
      placed.push({ x, y, w, h });
    };

    const draw = (threshold) => {
      let shown = 0;
      placed = [];
      boxes.forEach((g) => {
        const visible = Number(g.dataset.score) >= threshold;
        if (!visible) {
          g.setAttribute("display", "none");
          return;
        }
        shown += 1;
        g.removeAttribute("display");
        for (let c = 0; c < COLOURS; c += 1) g.classList.remove(`box-c${c}`);
        // Colour and number follow the box's rank: the same whatever the slider shows.
        g.classList.add(`box-c${(Number(g.dataset.rank) - 1) % COLOURS}`);
        const label = g.querySelector("[data-overlay-label]");
        label.textContent = `${g.dataset.rank} \u00b7 ${Number(g.dataset.score).toFixed(2)}`;
        placeTag(g);
        avoid(g);
      });
      return shown;
    };
    return { svg, boxes, byRank, draw };
  }

  // One side of a result: its overlay, count, crops and download links.
  function sideOf(scope) {
    const overlay = overlayOf(scope);
    const count = scope.querySelector("[data-count]");
    const crops = Array.from(scope.querySelectorAll("[data-crop]"));
    const empty = scope.querySelector("[data-no-persons]");
    const links = Array.from(scope.querySelectorAll("[data-zip-link], [data-annotated-link]"));
    const shownThreshold = scope.querySelector("[data-threshold-shown]");

    // Hovering (or focusing) a crop highlights its box, and the reverse.
    const highlight = (rank, on) => {
      crops.forEach((c) => { if (c.dataset.rank === rank) c.classList.toggle("is-highlighted", on); });
      if (overlay && overlay.byRank.has(rank)) overlay.byRank.get(rank).classList.toggle("is-highlighted", on);
    };
    crops.forEach((item) => {
      ["mouseenter", "focusin"].forEach((e) => item.addEventListener(e, () => highlight(item.dataset.rank, true)));
      ["mouseleave", "focusout"].forEach((e) => item.addEventListener(e, () => highlight(item.dataset.rank, false)));
    });
    if (overlay) {
      overlay.boxes.forEach((g) => {
        g.addEventListener("mouseenter", () => highlight(g.dataset.rank, true));
        g.addEventListener("mouseleave", () => highlight(g.dataset.rank, false));
      });
    }

    const update = (t) => {
      let shown = overlay ? overlay.draw(t) : 0;
      if (crops.length) {
        shown = 0;
        crops.forEach((item) => {
          const visible = Number(item.dataset.score) >= t;
          item.hidden = !visible;
          if (visible) shown += 1;
        });
      }
      if (count) count.textContent = String(shown);
      if (empty) empty.hidden = shown > 0;
      if (shownThreshold) shownThreshold.textContent = t.toFixed(2);
      links.forEach((link) => {
        const url = new URL(link.href, window.location.href);
        url.searchParams.set("score_threshold", String(t));
        link.href = url.pathname + url.search;
      });
    };
    return { update };
  }

  // A slider that filters every side under ``root`` (one on the result page, two on
  // the compare page) and keeps the threshold in the address bar.
  function initSlider(root, sides) {
    const slider = root.querySelector("[data-threshold]");
    if (!slider) return;
    const output = root.querySelector("[data-threshold-output]");
    const apply = root.querySelector("[data-threshold-apply]");
    if (apply) apply.hidden = true;
    const update = () => {
      const t = Number(slider.value);
      if (output) output.textContent = t.toFixed(2);
      sides.forEach((side) => side.update(t));
      const page = new URL(window.location.href);
      page.searchParams.set(slider.name || "score_threshold", String(t));
      window.history.replaceState(null, "", page.pathname + page.search);
    };
    slider.addEventListener("input", update);
    root.querySelector("[data-threshold-form]").addEventListener("submit", (e) => {
      e.preventDefault();
      update();
    });
    // Lay out the tags once the fonts are known (lengths come from the browser).
    sides.forEach((side) => side.update(Number(slider.value)));
  }

  function initResult(root) {
    initSlider(root, [sideOf(root)]);
  }

  function initCompare(root) {
    // One slider per side: each detector's scores mean something of their own.
    root.querySelectorAll("[data-people-side]").forEach((side) => initSlider(side, [sideOf(side)]));
  }

  // The correction editor: drag to add a box, click a box to remove it, save as JSON.
  function initTruthEditor(root) {
    const svg = root.querySelector("[data-truth-svg]");
    const form = root.querySelector("[data-truth-form]");
    const count = root.querySelector("[data-truth-count]");
    const status = root.querySelector("[data-truth-status]");
    const data = document.getElementById("truth-boxes");
    if (!svg || !form || !data) return;
    const NS = "http://www.w3.org/2000/svg";
    const line = svg.dataset.line || "2";
    let boxes = JSON.parse(data.textContent);

    const render = () => {
      svg.replaceChildren();
      boxes.forEach(([x1, y1, x2, y2], i) => {
        const rect = document.createElementNS(NS, "rect");
        rect.setAttribute("class", "truth-box");
        rect.setAttribute("x", String(x1));
        rect.setAttribute("y", String(y1));
        rect.setAttribute("width", String(x2 - x1));
        rect.setAttribute("height", String(y2 - y1));
        rect.setAttribute("stroke-width", line);
        rect.dataset.truthBox = String(i);
        rect.addEventListener("click", (e) => {
          e.stopPropagation();
          boxes = boxes.filter((_, j) => j !== i);
          render();
        });
        svg.appendChild(rect);
      });
      count.textContent = String(boxes.length);
    };

    // Screen point -> photo pixels (the SVG's viewBox is the photo).
    const toPhoto = (event) => {
      const r = svg.getBoundingClientRect();
      const [, , w, h] = svg.getAttribute("viewBox").split(" ").map(Number);
      const x = Math.min(Math.max(0, (event.clientX - r.left) * (w / r.width)), w);
      const y = Math.min(Math.max(0, (event.clientY - r.top) * (h / r.height)), h);
      return [Math.round(x), Math.round(y)];
    };
    let start = null;
    let ghost = null;
    svg.addEventListener("pointerdown", (e) => {
      if (e.target !== svg) return; // a click on a box removes it
      start = toPhoto(e);
      ghost = document.createElementNS(NS, "rect");
      ghost.setAttribute("class", "truth-box");
      ghost.setAttribute("stroke-width", line);
      svg.appendChild(ghost);
      svg.setPointerCapture(e.pointerId);
    });
    svg.addEventListener("pointermove", (e) => {
      if (!start) return;
      const [x, y] = toPhoto(e);
      ghost.setAttribute("x", String(Math.min(x, start[0])));
      ghost.setAttribute("y", String(Math.min(y, start[1])));
      ghost.setAttribute("width", String(Math.abs(x - start[0])));
      ghost.setAttribute("height", String(Math.abs(y - start[1])));
    });
    svg.addEventListener("pointerup", (e) => {
      if (!start) return;
      const [x, y] = toPhoto(e);
      const box = [Math.min(x, start[0]), Math.min(y, start[1]), Math.max(x, start[0]), Math.max(y, start[1])];
      start = null;
      if (box[2] - box[0] >= 4 && box[3] - box[1] >= 4) boxes.push(box);
      render();
    });

    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      status.textContent = "";
      const token = form.querySelector("input[name=csrfmiddlewaretoken]").value;
      try {
        const response = await fetch(root.dataset.truthUrl, {
          method: "PUT",
          credentials: "same-origin",
          headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": token },
          body: JSON.stringify({ boxes }),
        });
        if (response.ok) {
          window.location.reload();
          return;
        }
        const body = await response.json().catch(() => ({}));
        status.textContent = `${root.dataset.msgError} ${body.detail || response.status}`;
      } catch (error) {
        status.textContent = `${root.dataset.msgError} ${error}`;
      }
    });
    render();
  }

  function init() {
    document.querySelectorAll("form[data-upload]").forEach(initUpload);
    document.querySelectorAll("[data-people-result]").forEach(initResult);
    document.querySelectorAll("[data-people-compare]").forEach(initCompare);
    document.querySelectorAll("[data-truth-editor]").forEach(initTruthEditor);
  }

  document.addEventListener("DOMContentLoaded", init);
})();
