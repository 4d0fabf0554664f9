// Lesson 13 widget: the lesson's LSTM over a sine or sawtooth wave (data-api,
// api:cnn-lstm-gates, computed by demos/ml/sequences.run_gates, which the tests
// hold against nn.LSTM). Draws the wave and prediction, and one heat map per gate
// (rows = units, columns = time steps). Helpers come from widget-kit.js.
"use strict";

(function () {
  const { errorText, fetchJson, fill, formatNumber, mount, scope } = window.WidgetKit;

  function setup(root) {
    const { part, label } = scope(root);
    const form = part("form");
    const status = part("status");
    const plot = part("plot");
    let data = null;
    let chosen = null;
    let ticket = 0;
    let timer = null;
    const n = (v) => formatNumber(Number(v).toFixed(2), 2);

    function drawPlot() {
      const ctx = plot.getContext("2d");
      const T = data.inputs.length;
      const w = plot.width / T;
      const y = (v) => plot.height / 2 - v * (plot.height / 2 - 10);
      ctx.clearRect(0, 0, plot.width, plot.height);
      ctx.fillStyle = "#f1f3f5";
      ctx.fillRect(data.warmup * w, 0, plot.width - data.warmup * w, plot.height);
      ctx.strokeStyle = "#ced4da";
      ctx.beginPath(); ctx.moveTo(0, y(0)); ctx.lineTo(plot.width, y(0)); ctx.stroke();
      const line = (values, offset, colour, width) => {
        ctx.strokeStyle = colour; ctx.lineWidth = width; ctx.beginPath();
        values.forEach((v, t) => {
          const x = (t + offset + 0.5) * w;
          if (t === 0) ctx.moveTo(x, y(v)); else ctx.lineTo(x, y(v));
        });
        ctx.stroke();
      };
      line(data.truth.slice(0, T + 1), 0, "#495057", 2);
      line(data.predictions, 1, "#e8590c", 2.5); // prediction t is for step t + 1
      ctx.font = "12px sans-serif";
      ctx.fillStyle = "#495057"; ctx.fillText(label("Truth"), 8, 14);
      ctx.fillStyle = "#e8590c"; ctx.fillText(label("Prediction"), 90, 14);
      if (chosen !== null) {
        ctx.strokeStyle = "#1c7ed6"; ctx.lineWidth = 1;
        ctx.strokeRect(chosen * w, 0, w, plot.height);
      }
    }

    function drawMap(name, signed) {
      const canvas = part(`map-${name}`);
      const ctx = canvas.getContext("2d");
      const rows = data[name];
      const T = rows.length;
      const units = data.units;
      const w = canvas.width / T;
      const h = canvas.height / units;
      rows.forEach((column, t) => {
        column.forEach((v, unit) => {
          if (signed) {
            const a = Math.min(1, Math.abs(v));
            ctx.fillStyle = v >= 0 ? `rgba(232,89,12,${a})` : `rgba(28,126,214,${a})`;
            ctx.clearRect(t * w, unit * h, w + 0.5, h + 0.5);
          } else {
            const g = Math.round(255 * v);
            ctx.fillStyle = `rgb(${g},${g},${Math.round(40 + 215 * v)})`;
          }
          ctx.fillRect(t * w, unit * h, w + 0.5, h + 0.5);
        });
      });
      ctx.strokeStyle = "#fa5252"; ctx.lineWidth = 2;
      ctx.beginPath(); ctx.moveTo(data.warmup * w, 0); ctx.lineTo(data.warmup * w, canvas.height); ctx.stroke();
      if (chosen !== null) {
        ctx.strokeStyle = "#1c7ed6"; ctx.lineWidth = 2;
        ctx.strokeRect(chosen * w, 0, w, canvas.height);
      }
    }

    function draw() {
      if (!data) return;
      drawPlot();
      ["input_gate", "forget_gate", "output_gate"].forEach((name) => drawMap(name, false));
      drawMap("cell", true);
      if (chosen !== null) {
        part("step").textContent = fill(label("Step"), {
          t: chosen + 1, x: n(data.inputs[chosen]), y: n(data.predictions[chosen]),
          truth: n(data.truth[chosen + 1]),
        }) + " f = [" + data.forget_gate[chosen].map(n).join(", ") + "]";
      }
    }

    function pick(event) {
      if (!data) return;
      const box = event.currentTarget.getBoundingClientRect();
      const t = Math.floor(((event.clientX - box.left) / box.width) * data.inputs.length);
      chosen = Math.max(0, Math.min(data.inputs.length - 1, t));
      draw();
    }
    root.querySelectorAll("canvas").forEach((canvas) => {
      canvas.addEventListener("pointermove", pick);
      canvas.addEventListener("pointerdown", pick);
    });

    async function load() {
      const mine = ++ticket;
      const query = Object.fromEntries(new FormData(form));
      part("period-value").textContent = query.period;
      part("warmup-value").textContent = query.warmup;
      status.textContent = label("Loading");
      const { ok, status: code, data: body } = await fetchJson(root.dataset.api, { query });
      if (mine !== ticket) return;
      if (!ok) {
        status.textContent = errorText(label("Error"), body, code);
        return;
      }
      data = body;
      status.textContent = fill(label("Summary"), { warmup: body.warmup, error: n(body.free_error) });
      status.dataset.ready = "1";
      if (chosen === null || chosen >= body.inputs.length) chosen = body.warmup - 1;
      draw();
    }

    form.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(load, 200); });
    form.addEventListener("submit", (event) => event.preventDefault());
    load().catch(() => { status.textContent = label("Error"); });
  }

  mount("lstm-gates", setup);
})();
