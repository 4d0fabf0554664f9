// Lesson 11 widget: autoencoder reconstructions and a t-SNE scatter of the test
// digits, coloured by class (GET data-api, the api:cnn-autoencoder endpoint), at
// the perplexity the student picks (GET data-tsne-api, api:cnn-tsne).
// Helpers come from static/js/widget-kit.js.
"use strict";

(function () {
  const { el, fetchJson, fill, mount, scope } = window.WidgetKit;
  // Ten colours distinct for common colour blindness (Okabe-Ito + two greys/browns).
  const COLOURS = [
    "#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2",
    "#D55E00", "#CC79A7", "#000000", "#999999", "#8C564B",
  ];

  // An 8x8 digit (64 values 0..16) as a small canvas, ink dark on white.
  function digitCanvas(values, title) {
    const canvas = el("canvas", { width: 8, height: 8, className: "pixelated ae-digit", title });
    const context = canvas.getContext("2d");
    const image = context.createImageData(8, 8);
    values.forEach((value, index) => {
      const grey = 255 - Math.round((Math.min(16, Math.max(0, value)) / 16) * 255);
      image.data.set([grey, grey, grey, 255], index * 4);
    });
    context.putImageData(image, 0, 0);
    return canvas;
  }

  function setup(root) {
    const { part, label } = scope(root);
    const status = part("status");
    const rows = part("reconstructions");
    const scatter = part("scatter");
    const view = part("view");
    const picked = part("picked");
    const pair = part("pair");
    let data = null;
    let offset = 0;
    let map = null; // {perplexity, views, agreement} of the chosen perplexity
    let ticket = 0;

    const points = () => (map ? map.views : data.tsne)[view.value];

    function showAgreement() {
      if (!map) return;
      const share = map.agreement[view.value];
      part("agreement").textContent = fill(label("Agreement"), {
        perplexity: map.perplexity,
        share: `${Math.round(share * 100)} %`,
      });
    }

    async function loadMap(perplexity) {
      const mine = ++ticket;
      const said = part("agreement");
      said.textContent = fill(label("TsneLoading"), { perplexity });
      const { ok, data: answer } = await fetchJson(root.dataset.tsneApi, { query: { perplexity } });
      if (mine !== ticket) return;
      if (!ok) {
        said.textContent = `${label("TsneError")} ${(answer && answer.detail) || ""}`;
        return;
      }
      map = answer;
      scatter.dataset.perplexity = String(map.perplexity);
      if (data) drawScatter(-1);
      showAgreement();
    }

    function showReconstructions() {
      // Two digits of each class, starting at `offset` within each class.
      const chosen = [];
      for (let digit = 0; digit < 10; digit += 1) {
        const indices = data.labels.flatMap((value, index) => (value === digit ? [index] : []));
        for (let k = 0; k < 2; k += 1) chosen.push(indices[(offset + k) % indices.length]);
      }
      rows.replaceChildren();
      const originals = el("div", { className: "ae-row" });
      const rebuilt = el("div", { className: "ae-row" });
      chosen.forEach((index) => {
        originals.append(digitCanvas(data.digits[index], `#${index}`));
        rebuilt.append(
          digitCanvas(data.reconstructions[index], `${label("ErrorValue")} ${data.errors[index]}`)
        );
      });
      rows.append(originals, rebuilt);
    }

    function position(point) {
      const margin = 12;
      const size = scatter.width - 2 * margin;
      return [margin + ((point[0] + 1) / 2) * size, margin + ((1 - point[1]) / 2) * size];
    }

    function drawScatter(highlight) {
      const context = scatter.getContext("2d");
      context.clearRect(0, 0, scatter.width, scatter.height);
      points().forEach((point, index) => {
        const [x, y] = position(point);
        context.fillStyle = COLOURS[data.labels[index]];
        context.beginPath();
        context.arc(x, y, index === highlight ? 7 : 3.5, 0, 2 * Math.PI);
        context.fill();
        if (index === highlight) {
          context.strokeStyle = "#1d2330";
          context.lineWidth = 2;
          context.stroke();
        }
      });
    }

    function nearest(event) {
      const box = scatter.getBoundingClientRect();
      const x = ((event.clientX - box.left) * scatter.width) / box.width;
      const y = ((event.clientY - box.top) * scatter.height) / box.height;
      let best = -1;
      let bestDistance = 15 * 15;
      points().forEach((point, index) => {
        const [px, py] = position(point);
        const distance = (px - x) ** 2 + (py - y) ** 2;
        if (distance < bestDistance) {
          best = index;
          bestDistance = distance;
        }
      });
      return best;
    }

    function pick(event) {
      if (!data) return;
      const index = nearest(event);
      if (index < 0) return;
      drawScatter(index);
      picked.textContent = fill(label("Digit"), { index, label: data.labels[index] });
      pair.replaceChildren(
        digitCanvas(data.digits[index], `#${index}`),
        digitCanvas(data.reconstructions[index], `${label("ErrorValue")} ${data.errors[index]}`)
      );
    }

    function legend() {
      const list = part("legend");
      list.replaceChildren();
      COLOURS.forEach((colour, digit) => {
        const swatch = el("canvas", { width: 12, height: 12, className: "swatch-canvas" });
        const context = swatch.getContext("2d");
        context.fillStyle = colour;
        context.fillRect(0, 0, 12, 12);
        list.append(el("li", {}, swatch, ` ${digit}`));
      });
    }

    async function load() {
      status.textContent = label("Loading");
      try {
        const answer = await fetchJson(root.dataset.api);
        if (!answer.ok) throw new Error(String(answer.status));
        data = answer.data;
        status.textContent = "";
        legend();
        showReconstructions();
        drawScatter(-1);
      } catch (error) {
        status.textContent = label("Error");
      }
    }

    part("shuffle").addEventListener("click", () => {
      if (!data) return;
      offset += 2;
      showReconstructions();
    });
    view.addEventListener("change", () => {
      if (data) drawScatter(-1);
      showAgreement();
    });
    part("perplexity").addEventListener("change", (event) => loadMap(Number(event.target.value)));
    scatter.addEventListener("pointermove", pick);
    scatter.addEventListener("pointerdown", pick);
    // The map and the digits load side by side; whichever comes last draws.
    loadMap(Number(part("perplexity").querySelector("input:checked").value));
    load();
  }

  mount("autoencoder-tsne", setup);
})();
