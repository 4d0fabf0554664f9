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

  // The student's own photos per class (Teachable Machine's flow): classes added by
  // name, photos from files or the camera, each shrunk here to PHOTO_SIDE pixels (the
  // server keeps 320) so a phone's photos upload quickly; sent as photos + labels.
  const PHOTO_SIDE = 512;

  async function shrink(file) {
    const name = `${file.name.replace(/\.[^.]*$/, "") || "photo"}.jpg`;
    try {
      const bitmap = await createImageBitmap(file, { imageOrientation: "from-image" });
      const scale = Math.min(1, PHOTO_SIDE / Math.max(bitmap.width, bitmap.height));
      const canvas = el("canvas", {
        width: Math.max(1, Math.round(bitmap.width * scale)),
        height: Math.max(1, Math.round(bitmap.height * scale)),
      });
      canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
      bitmap.close();
      const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.9));
      if (blob) return { blob, name };
    } catch (error) {
      // Not decodable here (HEIC on a desktop, not an image): the server says why.
    }
    return { blob: file, name: file.name };
  }

  function setupPhotos(box, part, label) {
    const classes = [];  // [{ name, photos: [{ blob, name, url }], node }]
    const list = part("classes");
    const template = part("class-template");
    const nameInput = part("class-name");

    function render(entry) {
      const { node } = entry;
      node.querySelector('[data-role="class-count"]').textContent =
        fill(label("PhotoCount"), { count: entry.photos.length });
      node.querySelector('[data-role="thumbs"]').replaceChildren(...entry.photos.map((photo, i) => {
        const remove = el("button", {
          type: "button", text: "×",
          ariaLabel: fill(label("RemovePhoto"), { number: i + 1, name: entry.name }),
        });
        remove.addEventListener("click", () => {
          URL.revokeObjectURL(photo.url);
          entry.photos.splice(entry.photos.indexOf(photo), 1);
          render(entry);
        });
        return el("li", {}, el("img", { src: photo.url, alt: `${entry.name} ${i + 1}` }), remove);
      }));
    }

    async function addFiles(entry, input) {
      const files = Array.from(input.files || []);
      input.value = "";
      for (const file of files) {
        const photo = await shrink(file);
        photo.url = URL.createObjectURL(photo.blob);
        entry.photos.push(photo);
        render(entry);
      }
    }

    function addClass() {
      const name = nameInput.value.trim();
      if (!name) { nameInput.focus(); return; }
      if (classes.some((c) => c.name === name)) {
        nameInput.setCustomValidity(label("SameClass"));
        nameInput.reportValidity();
        return;
      }
      const node = template.content.firstElementChild.cloneNode(true);
      const entry = { name, photos: [], node };
      node.dataset.className = name;
      node.querySelector('[data-role="class-title"]').textContent = name;
      node.querySelectorAll('input[type="file"]').forEach((input) => {
        input.addEventListener("change", () => addFiles(entry, input));
      });
      node.querySelector('[data-role="remove-class"]').addEventListener("click", () => {
        entry.photos.forEach((photo) => URL.revokeObjectURL(photo.url));
        classes.splice(classes.indexOf(entry), 1);
        node.remove();
      });
      classes.push(entry);
      list.append(node);
      render(entry);
      nameInput.value = "";
    }

    nameInput.addEventListener("input", () => nameInput.setCustomValidity(""));
    nameInput.addEventListener("keydown", (event) => {
      if (event.key === "Enter") { event.preventDefault(); addClass(); }
    });
    part("add-class").addEventListener("click", addClass);

    // Appends the photos to the request; false (and a message) when too few.
    return function appendPhotos(body) {
      const ready = classes.filter((c) => c.photos.length >= 2);
      if (ready.length < 2 || ready.length !== classes.length) return false;
      classes.forEach((c) => c.photos.forEach((photo) => {
        body.append("photos", photo.blob, photo.name);
        body.append("labels", c.name);
      }));
      return true;
    };
  }

  // Second part: a real transfer-learning run on the student's photos, a class dataset
  // or a ZIP. POST data-runs-url (api:transfer-run-create), poll the run's URL, then
  // POST <run url>predict/ with a photo.
  function setupRun(box) {
    const { part, label } = scope(box);
    const form = part("run-form");
    const status = part("run-status");
    const appendPhotos = setupPhotos(box, part, label);
    let runUrl = null;

    function showSource() {
      const source = form.elements.source.value;
      box.querySelectorAll("[data-source]").forEach((node) => {
        node.hidden = node.dataset.source !== source;
      });
    }
    function chooseSource(value) {
      const radio = form.querySelector(`input[name="source"][value="${value}"]`);
      if (radio) { radio.checked = true; showSource(); }
    }
    form.querySelectorAll('input[name="source"]').forEach((radio) => {
      radio.addEventListener("change", showSource);
    });
    // Picking a ZIP or a dataset is choosing that source.
    form.elements.dataset.addEventListener("change", () => chooseSource("zip"));
    const picker = form.elements.class_dataset;
    function showDescription() {
      box.querySelectorAll("[data-dataset]").forEach((node) => {
        node.hidden = node.dataset.dataset !== picker.value;
      });
    }
    if (picker) {
      picker.addEventListener("change", () => { chooseSource("class"); showDescription(); });
      showDescription();
    }
    showSource();

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
      const source = body.get("source");
      body.delete("source");
      if (source !== "class") body.delete("class_dataset");
      if (source !== "zip") body.delete("dataset");
      else if (!form.elements.dataset.files.length) { status.textContent = label("NeedZip"); return; }
      if (source === "photos" && !appendPhotos(body)) {
        status.textContent = label("NeedClasses");
        return;
      }
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

    // The photo as sent, the class activation map's cells over it in red
    // (cam.grid: rows of 0..1 covering the whole photo).
    async function drawCam(file, cam) {
      const figure = part("prediction-cam");
      figure.hidden = true;
      if (!cam || !file) return;
      let picture;
      try { picture = await createImageBitmap(file); } catch { return; }
      const canvas = part("cam-canvas");
      const scale = 240 / Math.max(picture.width, picture.height);
      canvas.width = Math.round(picture.width * scale);
      canvas.height = Math.round(picture.height * scale);
      const context = canvas.getContext("2d");
      context.drawImage(picture, 0, 0, canvas.width, canvas.height);
      const rows = cam.grid.length;
      const columns = cam.grid[0].length;
      cam.grid.forEach((row, y) => row.forEach((value, x) => {
        context.fillStyle = `rgba(255, 0, 0, ${(0.6 * value).toFixed(3)})`;
        const left = Math.floor((x * canvas.width) / columns);
        const top = Math.floor((y * canvas.height) / rows);
        context.fillRect(left, top, Math.ceil(canvas.width / columns), Math.ceil(canvas.height / rows));
      }));
      part("cam-caption").textContent = fill(label("Cam"), { label: cam.label });
      figure.hidden = false;
    }

    part("predict-form").addEventListener("submit", async (event) => {
      event.preventDefault();
      const predictForm = event.target;
      const body = new FormData(predictForm);
      const { ok, status: code, data } = await fetchJson(`${runUrl}predict/`, {
        method: "POST", body, csrfFrom: predictForm,
      });
      part("prediction").textContent = ok
        ? data.top.map((t) => `${t.label} ${fmt(100 * t.probability, 1)} %`).join(" · ")
        : errorText(label("PredictError"), data, code);
      await drawCam(body.get("image"), ok ? data.cam : null);
    });
  }

  mount("transfer-learning", (root) => {
    setupCounts(root);
    const box = root.querySelector('[data-role="run"]');
    if (box) setupRun(box);
  });
})();
