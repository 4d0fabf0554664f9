// Lesson 2 widget: guess a convolution's output size, then check it.
// The numbers come from data-api, api:playground-output-size (the same Python the
// tests hold against torch.nn.Conv2d); this script only draws where the kernel
// lands on a small grid, one output position after another. Helpers: widget-kit.js.
"use strict";
(() => {
  const { errorText, fetchJson, fill, formatNumber, mount, scope } = window.WidgetKit;

  function setup(root) {
    const { part: $, label } = scope(root);
    const form = $("form");
    const canvas = $("canvas");
    const ctx = canvas.getContext("2d");

    let report = null;
    let position = 0;
    let playing = true;
    let timer = null;

    function positions() {
      if (!report || !report.animation_out) return 0;
      return report.animation_out * report.animation_out;
    }

    function drawGrid(n, p) {
      const side = n + 2 * p;
      const cell = Math.min(Math.floor(canvas.width / side), 40);
      for (let y = 0; y < side; y += 1) {
        for (let x = 0; x < side; x += 1) {
          const isPad = y < p || x < p || y >= p + n || x >= p + n;
          ctx.fillStyle = isPad ? "#e9ecef" : "#ffffff";
          ctx.fillRect(x * cell, y * cell, cell, cell);
          if (isPad) {
            ctx.strokeStyle = "#ced4da";
            ctx.beginPath();
            ctx.moveTo(x * cell, (y + 1) * cell);
            ctx.lineTo((x + 1) * cell, y * cell);
            ctx.stroke();
          }
          ctx.strokeStyle = "#adb5bd";
          ctx.strokeRect(x * cell + 0.5, y * cell + 0.5, cell - 1, cell - 1);
        }
      }
      return cell;
    }

    // Before "Check": only the (padded) input grid, so the answer is not given away.
    function drawInput() {
      ctx.clearRect(0, 0, canvas.width, canvas.height);
      const n = Number(form.n.value);
      const p = Number(form.padding.value);
      if (n >= 1 && p >= 0 && n <= 16 && p <= 8) drawGrid(n, p);
    }

    function draw() {
      ctx.clearRect(0, 0, canvas.width, canvas.height);
      if (!report || !report.animation_out) { drawInput(); return; }
      const p = report.padding;
      const s = report.stride;
      const d = report.dilation;
      const k = report.k;
      const cell = drawGrid(report.animation_n, p);
      const out = report.animation_out;
      const row = Math.floor(position / out);
      const col = position % out;
      const top = row * s;
      const left = col * s;
      const span = d * (k - 1) + 1;
      ctx.strokeStyle = "#2f49b0";
      ctx.lineWidth = 2;
      ctx.strokeRect(left * cell + 1, top * cell + 1, span * cell - 2, span * cell - 2);
      ctx.lineWidth = 1;
      ctx.fillStyle = "rgba(59, 91, 219, 0.55)";
      for (let i = 0; i < k; i += 1) {
        for (let j = 0; j < k; j += 1) {
          ctx.fillRect((left + j * d) * cell + 2, (top + i * d) * cell + 2, cell - 4, cell - 4);
        }
      }
      const rows = `${top - p}…${top - p + span - 1}`;
      const cols = `${left - p}…${left - p + span - 1}`;
      $("position").textContent = fill(label("Position"), { row, col, rows, cols });
    }

    function tick() {
      if (!playing || !positions()) return;
      position = (position + 1) % positions();
      draw();
    }

    function writeCode(r) {
      $("code").textContent = [
        "import torch",
        "import torch.nn as nn",
        "",
        `conv = nn.Conv2d(${r.in_channels}, ${r.out_channels}, kernel_size=${r.k}, ` +
          `stride=${r.stride}, padding=${r.padding}, dilation=${r.dilation})`,
        `x = torch.zeros(1, ${r.in_channels}, ${r.n}, ${r.n})`,
        "y = conv(x)",
        `print(y.shape)      # torch.Size([1, ${r.out_channels}, ${r.out}, ${r.out}])`,
        "print(sum(t.numel() for t in conv.parameters()))   # " + r.params,
        "# multiply-adds: C_out * H_out * W_out * C_in * k * k",
        `print(${r.out_channels} * ${r.out} * ${r.out} * ${r.in_channels} * ${r.k} * ${r.k})   # ${r.mult_adds}`,
      ].join("\n");
    }

    function show(r) {
      report = r;
      position = 0;
      const guess = r.guess;
      let verdict;
      if (guess === null || guess === undefined) verdict = fill(label("NoGuess"), { out: r.out });
      else verdict = fill(label(r.is_guess_right ? "Right" : "Wrong"), { out: r.out, guess });
      $("verdict").textContent = verdict;
      $("verdict").className = `verdict ${r.is_guess_right === false ? "wrong" : r.is_guess_right ? "right" : ""}`;
      $("formula").textContent =
        `floor((${r.n} + 2·${r.padding} - ${r.dilation}·(${r.k} - 1) - 1) / ${r.stride}) + 1 = ${r.out}`;
      $("shape").textContent = `${r.out_channels} x ${r.out} x ${r.out}`;
      $("params").textContent =
        `${formatNumber(r.params)} = ${r.out_channels}·${r.in_channels}·${r.k}·${r.k} + ${r.out_channels}`;
      $("macs").textContent = `${formatNumber(r.mult_adds)} = ${r.out_channels}·${r.out}·${r.out}·${r.in_channels}·${r.k}·${r.k}`;
      $("flops").textContent = formatNumber(r.flops);
      $("stand-in").textContent = r.animation_n !== r.n ? fill(label("StandIn"), { n: r.animation_n }) : "";
      if (!r.animation_out) $("stand-in").textContent = label("NoAnimation");
      writeCode(r);
      draw();
    }

    async function check() {
      const params = new URLSearchParams(new FormData(form));
      if (!params.get("guess")) params.delete("guess");
      const { ok, data: result } = await fetchJson(root.dataset.api, { query: params });
      if (!ok) {
        report = null;
        draw();
        $("verdict").textContent = errorText(label("Error"), result);
        $("verdict").className = "verdict wrong";
        return;
      }
      show(result);
    }

    form.addEventListener("submit", (event) => { event.preventDefault(); check(); });
    // New settings hide the old answer: guess first, then check.
    form.addEventListener("input", (event) => {
      if (event.target.name === "guess") return;
      report = null;
      draw();
      ["shape", "params", "macs", "flops"].forEach((role) => { $(role).textContent = "—"; });
      ["verdict", "position", "stand-in"].forEach((role) => { $(role).textContent = ""; });
    });
    $("play").addEventListener("click", () => { playing = !playing; });
    $("step").addEventListener("click", () => {
      playing = false;
      if (positions()) { position = (position + 1) % positions(); draw(); }
    });
    timer = setInterval(tick, 700);
    window.addEventListener("pagehide", () => clearInterval(timer));
    drawInput();
  }

  mount("output-size", setup);
})();
