// Lesson 5 widget: draw a digit with mouse, finger or pen; the digits CNN reads it
// when the pen lifts (POST /api/v1/digits/predict/) and each layer's maps are shown.
"use strict";

(function () {
  function format(template, values) {
    return template.replace(/\{(\w+)\}/g, (_, key) => (key in values ? values[key] : ""));
  }

  function setup(root) {
    const canvas = root.querySelector("[data-role=canvas]");
    const context = canvas.getContext("2d");
    const pixels = root.querySelector("[data-role=pixels]");
    const status = root.querySelector("[data-role=status]");
    const digitOut = root.querySelector("[data-role=digit]");
    const invert = root.querySelector("[data-role=invert]");
    const pen = root.querySelector("[data-role=pen]");
    const layersBox = root.querySelector("[data-role=layers]");
    const layerList = root.querySelector("[data-role=layer-list]");
    const form = root.querySelector("[data-role=form]");
    const labels = root.dataset;
    let drawing = false;
    let hasInk = false;
    let last = null;
    let timer = null;
    let ticket = 0;

    function colours() {
      return invert.checked ? { pad: "#111", ink: "#fff" } : { pad: "#fff", ink: "#111" };
    }

    function clear() {
      context.fillStyle = colours().pad;
      context.fillRect(0, 0, canvas.width, canvas.height);
      hasInk = false;
      digitOut.textContent = "";
      status.textContent = labels.labelDraw;
      root.querySelectorAll("progress").forEach((bar) => { bar.value = 0; });
      root.querySelectorAll("[data-role=percent]").forEach((cell) => { cell.textContent = "–"; });
      pixels.getContext("2d").clearRect(0, 0, 8, 8);
      layersBox.hidden = true;
    }

    function point(event) {
      const box = canvas.getBoundingClientRect();
      return {
        x: ((event.clientX - box.left) * canvas.width) / box.width,
        y: ((event.clientY - box.top) * canvas.height) / box.height,
      };
    }

    function strokeTo(next) {
      context.strokeStyle = colours().ink;
      context.lineWidth = Number(pen.value);
      context.lineCap = "round";
      context.lineJoin = "round";
      context.beginPath();
      context.moveTo(last.x, last.y);
      context.lineTo(next.x, next.y);
      context.stroke();
      last = next;
      hasInk = true;
    }

    canvas.addEventListener("pointerdown", (event) => {
      event.preventDefault();
      canvas.setPointerCapture(event.pointerId);
      drawing = true;
      last = point(event);
      strokeTo({ x: last.x + 0.01, y: last.y }); // a tap leaves a dot
      clearTimeout(timer);
    });
    canvas.addEventListener("pointermove", (event) => {
      if (!drawing) return;
      event.preventDefault();
      strokeTo(point(event));
    });
    function finish() {
      if (!drawing) return;
      drawing = false;
      clearTimeout(timer);
      timer = setTimeout(predict, 250); // several quick strokes make one request
    }
    canvas.addEventListener("pointerup", finish);
    canvas.addEventListener("pointercancel", finish);

    root.querySelector("[data-role=clear]").addEventListener("click", clear);
    invert.addEventListener("change", () => {
      // Swap the colours of what is already drawn, then read it again.
      const image = context.getImageData(0, 0, canvas.width, canvas.height);
      for (let i = 0; i < image.data.length; i += 4) {
        image.data[i] = 255 - image.data[i];
        image.data[i + 1] = 255 - image.data[i + 1];
        image.data[i + 2] = 255 - image.data[i + 2];
      }
      context.putImageData(image, 0, 0);
      if (hasInk) predict();
    });

    function showPixels(rows) {
      const small = pixels.getContext("2d");
      const image = small.createImageData(8, 8);
      rows.flat().forEach((value, index) => {
        const grey = 255 - Math.round((value / 16) * 255); // ink dark, like plt.cm.gray_r
        image.data.set([grey, grey, grey, 255], index * 4);
      });
      small.putImageData(image, 0, 0);
    }

    function showProbabilities(probabilities) {
      probabilities.forEach((p, digit) => {
        const row = root.querySelector(`tr[data-digit="${digit}"]`);
        row.querySelector("progress").value = p;
        row.querySelector("[data-role=percent]").textContent = `${(p * 100).toFixed(1)}%`;
        row.classList.toggle("best", p === Math.max(...probabilities));
      });
    }

    async function showLayers(url) {
      const response = await fetch(url, { credentials: "same-origin" });
      if (!response.ok) return;
      const data = await response.json();
      layerList.replaceChildren();
      const items = [{ name: "input", label: "", shape: [1, 32, 32], grid_url: data.input_url }]
        .concat(data.layers);
      items.forEach((layer) => {
        const li = document.createElement("li");
        const title = document.createElement("h4");
        title.textContent = layer.name;
        const note = document.createElement("p");
        note.className = "help";
        note.textContent = [layer.label, layer.shape.join("×")].filter(Boolean).join(" · ");
        const img = document.createElement("img");
        img.src = layer.grid_url;
        img.alt = layer.name;
        img.className = "pixelated";
        li.append(title, note, img);
        layerList.append(li);
      });
      layersBox.hidden = false;
    }

    function predict() {
      if (!hasInk || !labels.loggedIn) return;
      const mine = ++ticket;
      status.textContent = labels.labelLoading;
      canvas.toBlob(async (blob) => {
        const body = new FormData();
        body.append("image", blob, "digit.png");
        const token = form.querySelector("input[name=csrfmiddlewaretoken]").value;
        try {
          const response = await fetch(root.dataset.api, {
            method: "POST",
            body,
            credentials: "same-origin",
            headers: { "X-CSRFToken": token, Accept: "application/json" },
          });
          const data = await response.json().catch(() => ({}));
          if (mine !== ticket) return;
          if (!response.ok) {
            status.textContent = `${labels.labelError} ${data.detail || response.status}`;
            return;
          }
          const percent = (data.probabilities[data.digit] * 100).toFixed(1);
          status.textContent = format(labels.labelResult, { digit: data.digit, percent });
          digitOut.textContent = String(data.digit);
          showProbabilities(data.probabilities);
          showPixels(data.pixels);
          showLayers(data.maps_url);
        } catch (error) {
          if (mine === ticket) status.textContent = labels.labelError;
        }
      }, "image/png");
    }

    clear();
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll("[data-widget=draw-digit]").forEach(setup);
  });
})();
