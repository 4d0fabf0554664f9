// Lesson 12 widget: start a training run on the server (POST data-api,
// api:training-run-create → 202 and the run's URL), poll the URL and draw the
// training and validation loss as they grow; the previous run stays dashed for
// comparison. Helpers come from widget-kit.js.
"use strict";

(function () {
  const { errorText, fetchJson, fill, formatNumber, mount, scope } = window.WidgetKit;
  const POLL_MS = 500;

  function setup(root) {
    const { part, label } = scope(root);
    const form = part("form");
    const status = part("status");
    const plot = part("plot");
    const start = part("start");
    let current = null;
    let previous = null;
    let timer = null;

    function draw() {
      const ctx = plot.getContext("2d");
      const pad = { left: 44, right: 12, top: 26, bottom: 30 };
      const w = plot.width - pad.left - pad.right;
      const h = plot.height - pad.top - pad.bottom;
      ctx.clearRect(0, 0, plot.width, plot.height);
      const runs = [previous, current].filter(Boolean);
      const epochs = Math.max(1, ...runs.map((run) => run.epochs || 1));
      const losses = runs.flatMap((run) => run.curves.flatMap((c) => [c.train_loss, c.val_loss]))
        .filter((v) => v !== null && Number.isFinite(v));
      const top = Math.min(3, Math.max(0.5, ...losses, 0.5));
      const x = (epoch) => pad.left + ((epoch - 1) / Math.max(1, epochs - 1)) * w;
      const y = (v) => pad.top + h - (Math.min(v, top) / top) * h;
      ctx.strokeStyle = "#adb5bd";
      ctx.fillStyle = "#495057";
      ctx.font = "12px sans-serif";
      ctx.beginPath(); ctx.moveTo(pad.left, pad.top); ctx.lineTo(pad.left, pad.top + h);
      ctx.lineTo(pad.left + w, pad.top + h); ctx.stroke();
      for (let i = 0; i <= 4; i += 1) {
        const v = (top * i) / 4;
        ctx.fillText(formatNumber(v.toFixed(2), 2), 4, y(v) + 4);
      }
      ctx.fillText(`${label("Epoch")} 1 … ${epochs}`, pad.left + w / 2 - 30, plot.height - 8);
      const line = (curves, key, colour, dashed) => {
        ctx.strokeStyle = colour; ctx.lineWidth = 2.5; ctx.setLineDash(dashed ? [6, 4] : []);
        ctx.beginPath();
        curves.forEach((c, index) => {
          const v = c[key] === null ? top : c[key];
          if (index === 0) ctx.moveTo(x(c.epoch), y(v)); else ctx.lineTo(x(c.epoch), y(v));
        });
        ctx.stroke(); ctx.setLineDash([]);
      };
      if (previous) { line(previous.curves, "train_loss", "#74c0fc", true); line(previous.curves, "val_loss", "#ffc078", true); }
      if (current) { line(current.curves, "train_loss", "#1c7ed6", false); line(current.curves, "val_loss", "#e8590c", false); }
      ctx.fillStyle = "#1c7ed6"; ctx.fillText(label("Train"), pad.left + 8, 16);
      ctx.fillStyle = "#e8590c"; ctx.fillText(label("Val"), pad.left + 120, 16);
      if (previous) { ctx.fillStyle = "#868e96"; ctx.fillText(label("Previous"), pad.left + 260, 16); }
    }

    function describe(run) {
      const last = run.curves[run.curves.length - 1];
      if (run.state === "failed") return `${label("Failed")} ${run.detail}`;
      if (run.state !== "done") {
        return fill(label("Running"), { epoch: last ? last.epoch : 0, epochs: run.epochs });
      }
      if (!last) return run.detail;
      const finite = run.curves.filter((c) => c.val_loss !== null);
      const best = finite.reduce((a, c) => (c.val_loss < a.val_loss ? c : a), finite[0] || last);
      const n = (v) => (v === null ? "∞" : formatNumber(v.toFixed(3), 3));
      const text = fill(label("Done"), {
        epoch: last.epoch, train: n(last.train_loss), val: n(last.val_loss),
        best: n(best.val_loss), best_epoch: best.epoch,
        acc: formatNumber((last.val_accuracy * 100).toFixed(1), 1),
      });
      return run.detail ? `${text} ${run.detail}` : text;
    }

    async function poll(url) {
      const { ok, status: code, data } = await fetchJson(url);
      if (!ok) {
        status.textContent = errorText(label("Error"), data, code);
        start.disabled = false;
        return;
      }
      current = data;
      draw();
      status.textContent = describe(data);
      status.dataset.state = data.state;
      if (data.state === "queued" || data.state === "running") {
        timer = setTimeout(() => poll(url), POLL_MS);
      } else {
        start.disabled = false;
      }
    }

    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (!root.dataset.loggedIn) return;
      clearTimeout(timer);
      start.disabled = true;
      if (current && current.curves.length) previous = current;
      current = null;
      status.textContent = label("Starting");
      status.dataset.state = "starting";
      const body = new FormData(form);
      if (!body.has("augment")) body.append("augment", "false");
      try {
        const { ok, status: code, data } = await fetchJson(root.dataset.api, {
          method: "POST", body, csrfFrom: form,
        });
        if (!ok) {
          status.textContent = errorText(label("Error"), data, code);
          start.disabled = false;
          return;
        }
        poll(data.url);
      } catch (error) {
        status.textContent = label("Error");
        start.disabled = false;
      }
    });
    draw();
  }

  mount("training-curves", setup);
})();
