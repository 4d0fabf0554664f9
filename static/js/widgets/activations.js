// Lesson 6 widget: one real feature map through ReLU, BatchNorm (train/eval) and
// Dropout (train/eval), with images and histograms (GET data-api, the
// api:cnn-activations endpoint). Helpers come from static/js/widget-kit.js.
"use strict";

(function () {
  const { el, errorText, fetchJson, fill, mount, scope } = window.WidgetKit;

  // Bars of a histogram on a canvas; the x axis is labelled with its two ends and 0.
  function drawHistogram(canvas, histogram) {
    const context = canvas.getContext("2d");
    const { width, height } = canvas;
    const counts = histogram.counts;
    const edges = histogram.edges;
    const top = Math.max(...counts, 1);
    const low = edges[0];
    const high = edges[edges.length - 1];
    const span = high - low || 1;
    context.clearRect(0, 0, width, height);
    const plot = height - 16;
    counts.forEach((count, index) => {
      const x0 = ((edges[index] - low) / span) * width;
      const x1 = ((edges[index + 1] - low) / span) * width;
      const h = (count / top) * (plot - 4);
      const centre = (edges[index] + edges[index + 1]) / 2;
      context.fillStyle = centre < 0 ? "#4263eb" : "#e03131";
      context.fillRect(x0, plot - h, Math.max(1, x1 - x0 - 1), h);
    });
    context.fillStyle = "#5c667a";
    context.font = "11px sans-serif";
    context.textBaseline = "bottom";
    context.textAlign = "left";
    context.fillText(low.toFixed(2), 0, height);
    context.textAlign = "right";
    context.fillText(high.toFixed(2), width, height);
    if (low < 0 && high > 0) {
      const zero = ((0 - low) / span) * width;
      context.fillStyle = "#1d2330";
      context.fillRect(zero, 0, 1, plot);
      context.textAlign = "center";
      context.fillText("0", zero, height);
    }
  }

  function setup(root) {
    const { part, label } = scope(root);
    const sample = part("sample");
    const channel = part("channel");
    const status = part("status");
    const stages = part("stages");
    let seed = 0;
    let ticket = 0;

    async function load() {
      const mine = ++ticket;
      status.textContent = label("Loading");
      const query = { sample: sample.value, channel: channel.value, seed };
      try {
        const { ok, data } = await fetchJson(root.dataset.api, { query });
        if (mine !== ticket) return;
        if (!ok) {
          status.textContent = errorText(label("Error"), data);
          return;
        }
        render(data);
        status.textContent = "";
      } catch (error) {
        if (mine === ticket) status.textContent = label("Error");
      }
    }

    function render(data) {
      part("input").src = data.input;
      part("running").textContent = fill(label("Running"), {
        mean: data.running_mean.toFixed(3),
        var: data.running_var.toFixed(3),
      });
      stages.replaceChildren();
      data.stages.forEach((stage) => {
        const img = el("img", { src: stage.image, alt: stage.title, width: 128, height: 128 });
        const scale = el("p", {
          className: "help",
          text: fill(label("Scale"), { limit: stage.limit.toFixed(2) }),
        });
        const chart = el("canvas", { width: 220, height: 90 });
        const s = stage.stats;
        const numbers = el("p", {
          className: "act-numbers",
          text:
            `${label("Mean")} ${s.mean.toFixed(3)} · ${label("Std")} ${s.std.toFixed(3)} · ` +
            `${label("Zeros")} ${(s.zeros * 100).toFixed(0)}% · ` +
            `${label("Range")} ${s.min.toFixed(2)}…${s.max.toFixed(2)}`,
        });
        const li = el("li", { dataset: { stage: stage.key } }, el("h4", { text: stage.title }),
          img, scale, chart, numbers);
        stages.append(li);
        drawHistogram(chart, stage.histogram);
      });
    }

    sample.addEventListener("change", load);
    channel.addEventListener("change", load);
    part("reseed").addEventListener("click", () => {
      seed += 1;
      load();
    });
    load();
  }

  mount("activations", setup);
})();
