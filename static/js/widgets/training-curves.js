// Lesson 12 widget: start a training run on the server (POST data-api,
// api:training-run-create → 202 and the run's URL), poll the URL and draw the
// training and validation loss as they grow; the previous run stays dashed for
// comparison. The optimiser, StepLR and patience travel with the run; the
// learning-rate timeline below the curves previews the form's schedule (dots: the
// rates the run really used), the validation curve carries the early-stopping
// marker the server computed, and a stepper walks plain gradient descent and
// momentum down L(w) = w² (iterates from the page's json_script). Helpers come
// from widget-kit.js.
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
    const rates = part("rates");
    const stopping = part("stopping");
    const schedule = part("schedule");
    const stepSize = part("step-size");
    const gamma = part("gamma");
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
      const marker = current && current.state === "done" ? current.early_stopping : null;
      if (marker && marker.stop_epoch) {
        const sx = x(marker.stop_epoch);
        ctx.strokeStyle = "#c92a2a"; ctx.lineWidth = 1.5; ctx.setLineDash([4, 3]);
        ctx.beginPath(); ctx.moveTo(sx, pad.top); ctx.lineTo(sx, pad.top + h); ctx.stroke();
        ctx.setLineDash([]);
        ctx.fillStyle = "#c92a2a";
        const text = fill(label("Stop"), { patience: marker.patience, epoch: marker.stop_epoch });
        const width = ctx.measureText(text).width;
        // Beside the line, not across it: right of it when there is room.
        const tx = sx + 6 + width <= plot.width - pad.right ? sx + 6 : Math.max(pad.left + 4, sx - 6 - width);
        ctx.fillText(text, tx, pad.top + 12);
      }
      const best = marker && marker.best_epoch ? current.curves[marker.best_epoch - 1] : null;
      if (best && best.val_loss !== null) {
        const bx = x(best.epoch); const by = y(best.val_loss);
        ctx.fillStyle = "#2b8a3e"; ctx.beginPath(); ctx.arc(bx, by, 6, 0, 2 * Math.PI); ctx.fill();
        const text = fill(label("Best"), { epoch: best.epoch });
        const width = ctx.measureText(text).width;
        ctx.fillText(text, Math.max(pad.left + 4, Math.min(bx - width / 2, plot.width - pad.right - width)), Math.min(by + 20, pad.top + h - 4));
      }
      ctx.fillStyle = "#1c7ed6"; ctx.fillText(label("Train"), pad.left + 8, 16);
      ctx.fillStyle = "#e8590c"; ctx.fillText(label("Val"), pad.left + 120, 16);
      if (previous) { ctx.fillStyle = "#868e96"; ctx.fillText(label("Previous"), pad.left + 260, 16); }
    }

    // The form's schedule, as StepLR gives it: lr * gamma ** floor((epoch - 1) / step).
    function plannedRates() {
      const epochs = Number(form.elements.epochs.value);
      const lr = Number(form.elements.learning_rate.value);
      const step = schedule.checked ? Number(stepSize.value) : 0;
      const factor = Number(gamma.value);
      return Array.from({ length: epochs }, (_, i) => (step ? lr * factor ** Math.floor(i / step) : lr));
    }

    function drawRates() {
      const ctx = rates.getContext("2d");
      const pad = { left: 64, right: 12, top: 20, bottom: 22 };
      const w = rates.width - pad.left - pad.right;
      const h = rates.height - pad.top - pad.bottom;
      ctx.clearRect(0, 0, rates.width, rates.height);
      const planned = plannedRates();
      const used = current ? current.curves.map((c) => c.learning_rate).filter((v) => v > 0) : [];
      const all = planned.concat(used);
      const top = Math.log10(Math.max(...all));
      const bottom = Math.min(top - 1, Math.log10(Math.min(...all)));
      const margin = (top - bottom) * 0.08; // the lowest level stays off the axis
      const hi = top + margin; const lo = bottom - margin;
      const x = (epoch) => pad.left + ((epoch - 1) / Math.max(1, planned.length - 1)) * w;
      const y = (v) => pad.top + h - ((Math.log10(v) - lo) / (hi - lo)) * h;
      ctx.font = "12px sans-serif"; ctx.fillStyle = "#495057"; ctx.strokeStyle = "#adb5bd"; ctx.lineWidth = 1;
      ctx.beginPath(); ctx.moveTo(pad.left, pad.top); ctx.lineTo(pad.left, pad.top + h);
      ctx.lineTo(pad.left + w, pad.top + h); ctx.stroke();
      ctx.fillText(label("Rate"), pad.left, 12);
      const every = Math.max(1, Math.ceil((Math.floor(top) - Math.ceil(bottom)) / 3));
      for (let p = Math.floor(top); p >= Math.ceil(bottom); p -= every) {
        ctx.fillText(String(Number((10 ** p).toPrecision(1))), 4, y(10 ** p) + 4);
      }
      ctx.fillText(`${label("Epoch")} 1 … ${planned.length}`, pad.left + w / 2 - 30, rates.height - 4);
      ctx.strokeStyle = "#7048e8"; ctx.lineWidth = 2; ctx.beginPath();
      ctx.moveTo(x(1), y(planned[0]));
      planned.forEach((v, i) => {
        if (i > 0) { ctx.lineTo(x(i + 1), y(planned[i - 1])); ctx.lineTo(x(i + 1), y(v)); }
      });
      ctx.stroke();
      ctx.fillStyle = "#7048e8";
      if (current) current.curves.forEach((c) => {
        if (c.learning_rate > 0 && c.epoch <= planned.length) {
          ctx.beginPath(); ctx.arc(x(c.epoch), y(c.learning_rate), 3, 0, 2 * Math.PI); ctx.fill();
        }
      });
    }

    function describeStopping(run) {
      const marker = run && run.state === "done" ? run.early_stopping : null;
      if (!marker || !marker.best_epoch) return "";
      if (marker.stop_epoch) {
        return fill(label("StopText"), { patience: marker.patience, stop: marker.stop_epoch, best: marker.best_epoch });
      }
      return fill(label("NoStop"), { patience: marker.patience, best: marker.best_epoch });
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
      drawRates();
      stopping.textContent = describeStopping(data);
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
      stopping.textContent = "";
      status.textContent = label("Starting");
      status.dataset.state = "starting";
      const body = new FormData(form);
      body.delete("csrfmiddlewaretoken"); // sent as X-CSRFToken; the API refuses unknown fields
      if (!body.has("augment")) body.append("augment", "false");
      if (!schedule.checked) { body.set("lr_step_size", "0"); body.delete("lr_gamma"); }
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
    function syncSchedule() {
      stepSize.disabled = !schedule.checked;
      gamma.disabled = !schedule.checked;
      drawRates();
    }
    schedule.addEventListener("change", syncSchedule);
    form.addEventListener("change", drawRates);
    part("preset").addEventListener("click", () => {
      schedule.checked = true;
      stepSize.value = "7";
      gamma.value = "0.1";
      form.elements.learning_rate.value = "0.001";
      syncSchedule();
    });
    draw();
    syncSchedule();
    setupStepper(root, label);
  }

  // "Why momentum works": step plain gradient descent and momentum down w².
  function setupStepper(root, label) {
    const { part } = scope(root);
    const source = root.querySelector("#momentum-steps");
    if (!source) return;
    const steps = JSON.parse(source.textContent);
    const canvas = part("step-plot");
    const text = part("step-text");
    const last = steps.plain.length - 1;
    let t = 0;
    const n = (v) => formatNumber(v.toFixed(3), 3);

    function render() {
      const ctx = canvas.getContext("2d");
      const pad = { left: 30, right: 30, top: 26, bottom: 24 };
      const w = canvas.width - pad.left - pad.right;
      const h = canvas.height - pad.top - pad.bottom;
      const x = (v) => pad.left + ((v + 1.2) / 2.4) * w;
      const y = (loss) => pad.top + h - (loss / 1.44) * h;
      ctx.clearRect(0, 0, canvas.width, canvas.height);
      ctx.font = "12px sans-serif"; ctx.lineWidth = 1; ctx.strokeStyle = "#adb5bd";
      ctx.beginPath(); ctx.moveTo(x(0), pad.top); ctx.lineTo(x(0), pad.top + h); ctx.stroke();
      ctx.strokeStyle = "#495057"; ctx.beginPath();
      for (let i = 0; i <= 96; i += 1) {
        const v = -1.2 + (2.4 * i) / 96;
        if (i === 0) ctx.moveTo(x(v), y(v * v)); else ctx.lineTo(x(v), y(v * v));
      }
      ctx.stroke();
      ctx.fillStyle = "#495057"; ctx.fillText("w = 0", x(0) + 4, pad.top + h + 16);
      ctx.fillText("-1", x(-1) - 6, pad.top + h + 16); ctx.fillText("1", x(1) - 3, pad.top + h + 16);
      const path = (values, colour, offset) => {
        ctx.strokeStyle = colour; ctx.fillStyle = colour; ctx.lineWidth = 2;
        ctx.beginPath();
        values.slice(0, t + 1).forEach((v, i) => {
          const px = x(Math.max(-1.2, Math.min(1.2, v))); const py = y(Math.min(1.44, v * v)) + offset;
          if (i === 0) ctx.moveTo(px, py); else ctx.lineTo(px, py);
        });
        ctx.stroke();
        const v = values[t];
        ctx.beginPath(); ctx.arc(x(Math.max(-1.2, Math.min(1.2, v))), y(Math.min(1.44, v * v)) + offset, 6, 0, 2 * Math.PI); ctx.fill();
      };
      path(steps.momentum, "#e8590c", 0);
      path(steps.plain, "#1c7ed6", 0); // on top: its short path hides under momentum's
      ctx.fillStyle = "#1c7ed6"; ctx.fillText(`● ${label("Plain")}`, pad.left, 14);
      ctx.fillStyle = "#e8590c"; ctx.fillText(`● ${label("Momentum")}`, pad.left + 220, 14);
      text.textContent = fill(label("Step"), {
        step: t, plain: n(steps.plain[t]), momentum: n(steps.momentum[t]), velocity: n(steps.velocity[t]),
      });
      part("step-back").disabled = t === 0;
      part("step-next").disabled = t === last;
    }

    part("step-next").addEventListener("click", () => { t = Math.min(last, t + 1); render(); });
    part("step-back").addEventListener("click", () => { t = Math.max(0, t - 1); render(); });
    part("step-reset").addEventListener("click", () => { t = 0; render(); });
    render();
  }

  mount("training-curves", setup);
})();
