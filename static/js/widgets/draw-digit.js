// Lesson 5 widget: draw a digit with mouse, finger or pen; the digits CNN reads it
// when the pen lifts (POST data-api, api:digit-predict) and each layer's maps are
// shown (GET the maps_url of the answer), with the answer's Grad-CAM overlay.
// Helpers come from widget-kit.js.
"use strict";

(function () {
  const { el, errorText, fetchJson, fill, mount, scope } = window.WidgetKit;

  function setup(root) {
    const { part, label } = scope(root);
    const canvas = part("canvas");
    const context = canvas.getContext("2d");
    const pixels = part("pixels");
    const status = part("status");
    const digitOut = part("digit");
    const invert = part("invert");
    const pen = part("pen");
    const layersBox = part("layers");
    const layerList = part("layer-list");
    const form = part("form");
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
      status.textContent = label("Draw");
      root.querySelectorAll("progress").forEach((bar) => { bar.value = 0; });
      root.querySelectorAll("[data-role=percent]").forEach((cell) => { cell.textContent = "–"; });
      pixels.getContext("2d").clearRect(0, 0, 8, 8);
      part("cam-box").hidden = true;
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

    part("clear").addEventListener("click", clear);
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
      const { ok, data } = await fetchJson(url);
      if (!ok) return;
      layerList.replaceChildren();
      const items = [{ name: "input", label: "", shape: [1, 32, 32], grid_url: data.input_url }]
        .concat(data.layers);
      items.forEach((layer) => {
        const note = [layer.label, layer.shape.join("×")].filter(Boolean).join(" · ");
        layerList.append(el("li", {},
          el("h4", { text: layer.name }),
          el("p", { className: "help", text: note }),
          el("img", { src: layer.grid_url, alt: layer.name, className: "pixelated" })));
      });
      layersBox.hidden = false;
    }

    function predict() {
      if (!hasInk || !root.dataset.loggedIn) return;
      const mine = ++ticket;
      status.textContent = label("Loading");
      canvas.toBlob(async (blob) => {
        const body = new FormData();
        body.append("image", blob, "digit.png");
        try {
          const { ok, status: code, data } = await fetchJson(root.dataset.api, {
            method: "POST", body, csrfFrom: form,
          });
          if (mine !== ticket) return;
          if (!ok) {
            status.textContent = errorText(label("Error"), data, code);
            return;
          }
          const percent = (data.probabilities[data.digit] * 100).toFixed(1);
          status.textContent = fill(label("Result"), { digit: data.digit, percent });
          digitOut.textContent = String(data.digit);
          showProbabilities(data.probabilities);
          showPixels(data.pixels);
          part("cam").src = data.cam_overlay_url;
          part("cam-caption").textContent = fill(label("Cam"), { digit: data.digit });
          part("cam-box").hidden = false;
          showLayers(data.maps_url);
        } catch (error) {
          if (mine === ticket) status.textContent = label("Error");
        }
      }, "image/png");
    }

    clear();
  }

  mount("draw-digit", setup);
})();
