// Lesson 6 widget: one real feature map through ReLU, BatchNorm (train/eval) and
// Dropout (train/eval), with images and histograms (GET /lessons/cnn/activations.json).
"use strict";

(function () {
  function format(template, values) {
    return template.replace(/\{(\w+)\}/g, (_, key) => (key in values ? values[key] : ""));
  }

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
    const sample = root.querySelector("[data-role=sample]");
    const channel = root.querySelector("[data-role=channel]");
    const status = root.querySelector("[data-role=status]");
    const stages = root.querySelector("[data-role=stages]");
    const labels = root.dataset;
    let seed = 0;
    let ticket = 0;

    async function load() {
      const mine = ++ticket;
      status.textContent = labels.labelLoading;
      const query = new URLSearchParams({ sample: sample.value, channel: channel.value, seed });
      try {
        const response = await fetch(`${root.dataset.api}?${query}`, { credentials: "same-origin" });
        const data = await response.json();
        if (mine !== ticket) return;
        if (!response.ok) {
          status.textContent = `${labels.labelError} ${data.detail || ""}`;
          return;
        }
        render(data);
        status.textContent = "";
      } catch (error) {
        if (mine === ticket) status.textContent = labels.labelError;
      }
    }

    function render(data) {
      root.querySelector("[data-role=input]").src = data.input;
      root.querySelector("[data-role=running]").textContent = format(labels.labelRunning, {
        mean: data.running_mean.toFixed(3),
        var: data.running_var.toFixed(3),
      });
      stages.replaceChildren();
      data.stages.forEach((stage) => {
        const li = document.createElement("li");
        li.dataset.stage = stage.key;
        const title = document.createElement("h4");
        title.textContent = stage.title;
        const img = document.createElement("img");
        img.src = stage.image;
        img.alt = stage.title;
        img.width = 128;
        img.height = 128;
        const scale = document.createElement("p");
        scale.className = "help";
        scale.textContent = format(labels.labelScale, { limit: stage.limit.toFixed(2) });
        const chart = document.createElement("canvas");
        chart.width = 220;
        chart.height = 90;
        const s = stage.stats;
        const numbers = document.createElement("p");
        numbers.className = "act-numbers";
        numbers.textContent =
          `${labels.labelMean} ${s.mean.toFixed(3)} · ${labels.labelStd} ${s.std.toFixed(3)} · ` +
          `${labels.labelZeros} ${(s.zeros * 100).toFixed(0)}% · ` +
          `${labels.labelRange} ${s.min.toFixed(2)}…${s.max.toFixed(2)}`;
        li.append(title, img, scale, chart, numbers);
        stages.append(li);
        drawHistogram(chart, stage.histogram);
      });
    }

    sample.addEventListener("change", load);
    channel.addEventListener("change", load);
    root.querySelector("[data-role=reseed]").addEventListener("click", () => {
      seed += 1;
      load();
    });
    load();
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll("[data-widget=activations]").forEach(setup);
  });
})();
