// Lesson 1 widget: apply a 3x3/5x5 kernel to a sample or uploaded photo.
// The server does the filtering (data-api, api:playground-kernel; same result as
// cv2.filter2D); this script reads the form, shows the kernel as a coloured grid,
// displays both images and writes the matching PyTorch code. A typed kernel is
// sent only when it is a complete grid (an odd square of numbers) and the student
// presses Enter or leaves the box: a half-typed row is drawn with "?" and a hint,
// never sent. When the weights do not add up to 1 the stats say what that does to
// the brightness (nine ones: most pixels pass 255 and turn white). Helpers:
// widget-kit.js.
"use strict";
(() => {
  const { el, errorText, fetchJson, fill, mount, scope } = window.WidgetKit;

  function setup(root) {
    const { part: $, label } = scope(root);
    const form = $("form");
    const preset = $("preset");
    const kernelText = $("kernel");
    const upload = $("upload");
    const status = $("status");

    const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
    function parseFraction(cell) {
      const parts = cell.split("/");
      if (!parts.every((p) => NUMBER.test(p)) || parts.length > 2) return NaN;
      const value = parts.length === 2 ? Number(parts[0]) / Number(parts[1]) : Number(cell);
      return Number.isFinite(value) ? value : NaN;
    }

    // A grid the server will take: an odd square side 1..7, every cell a number.
    function isComplete(rows) {
      const side = rows.length;
      return side % 2 === 1 && side <= 7
        && rows.every((row) => row.length === side && row.every(Number.isFinite));
    }

    function readKernel() {
      return kernelText.value
        .trim()
        .split(/[;\n]+/)
        .filter((row) => row.trim())
        .map((row) => row.trim().split(/[\s,]+/).map(parseFraction));
    }

    function drawGrid() {
      const grid = $("grid");
      grid.replaceChildren();
      const rows = readKernel();
      rows.forEach((row) => {
        grid.append(el("tr", {}, ...row.map((value) => el("td", {
          text: Number.isFinite(value) ? String(+value.toFixed(3)) : "?",
          className: value > 0 ? "pos" : value < 0 ? "neg" : "zero",
        }))));
      });
    }

    function pythonKernel(rows) {
      const cells = kernelText.value.trim().split(/[;\n]+/).filter((r) => r.trim())
        .map((row) => row.trim().split(/[\s,]+/).map((c) => (c.includes("/") ? c : `${c}`)));
      const body = cells.map((row) => `    [${row.join(", ")}],`).join("\n");
      const k = rows.length;
      return { body, k };
    }

    function writeCode() {
      const rows = readKernel();
      const { body, k } = pythonKernel(rows);
      const pad = Math.floor(k / 2);
      const abs = $("mode").value === "abs";
      const grey = $("grey").checked;
      $("code").textContent = [
        "import torch",
        "import torch.nn.functional as F",
        "from torchvision.io import read_image, ImageReadMode",
        "",
        `image = read_image("photo.jpg", ${grey ? "ImageReadMode.GRAY" : "ImageReadMode.RGB"}).float()`,
        "kernel = torch.tensor([",
        body,
        `]).view(1, 1, ${k}, ${k})`,
        "",
        "# one channel at a time (groups=C), reflect the border like cv2.BORDER_REFLECT_101",
        "channels = image.shape[0]",
        `x = F.pad(image[None], (${pad}, ${pad}, ${pad}, ${pad}), mode="reflect")`,
        "out = F.conv2d(x, kernel.repeat(channels, 1, 1, 1), groups=channels)[0]",
        abs ? "out = out.abs()            # show negative edges too" : "# negative values become 0 (black), as in cv2.filter2D",
        "out = out.round().clamp(0, 255).to(torch.uint8)",
      ].join("\n");
    }

    let pending = null;
    async function apply() {
      if (!preset.value && !isComplete(readKernel())) {
        drawGrid();
        status.textContent = label("Incomplete");
        status.dataset.state = "incomplete";
        return;
      }
      delete status.dataset.state;
      if (pending) pending.abort();
      pending = new AbortController();
      drawGrid();
      writeCode();
      status.textContent = label("Working");
      const data = new FormData(form);
      if (!upload.files.length) data.delete("image");
      if (!data.get("grey")) data.set("grey", "false");
      if (preset.value) data.delete("kernel"); else data.delete("preset");
      try {
        const { ok, data: result } = await fetchJson(root.dataset.api, {
          method: "POST", body: data, csrfFrom: form, signal: pending.signal,
        });
        if (!ok) {
          status.textContent = errorText(label("Error"), result);
          return;
        }
        $("input").src = result.input_url;
        $("output").src = result.output_url;
        status.textContent = "";
        const parts = [fill(label("Stats"), {
          sum: result.kernel_sum,
          min: result.response_min,
          max: result.response_max,
          negative: `${(result.negative_share * 100).toFixed(1)}%`,
        })];
        const sum = result.kernel_sum;
        const share = `${(result.saturated_share * 100).toFixed(1)}%`;
        const shown = { sum: String(+sum.toFixed(3)), share };
        if (Math.abs(sum - 1) < 1e-6) parts.push(label("SumOne"));
        else if (Math.abs(sum) < 1e-6) parts.push(label("SumZero"));
        else if (sum > 1 && result.saturated_share >= 0.005) parts.push(fill(label("SumSaturated"), shown));
        else if (sum > 1) parts.push(fill(label("SumBrighter"), shown));
        else if (sum > 0) parts.push(fill(label("SumDarker"), shown));
        if (sum <= 1 && result.saturated_share >= 0.005) parts.push(fill(label("Saturated"), shown));
        if (result.negative_share > 0 && $("mode").value === "clip") parts.push(label("Clipped"));
        $("stats").textContent = parts.join(" ");
      } catch (error) {
        if (error.name !== "AbortError") status.textContent = label("Error");
      }
    }

    preset.addEventListener("change", () => {
      const option = preset.selectedOptions[0];
      if (option && option.dataset.text) kernelText.value = option.dataset.text;
      apply();
    });
    // Typing only redraws the grid and says what is missing; nothing is sent.
    kernelText.addEventListener("input", () => {
      preset.value = "";
      drawGrid();
      const complete = isComplete(readKernel());
      status.textContent = complete ? label("Ready") : label("Incomplete");
      status.dataset.state = complete ? "ready" : "incomplete";
    });
    // Leaving the box applies a complete grid.
    kernelText.addEventListener("change", () => apply());
    // Enter applies a complete grid; on an unfinished one it starts the next row.
    kernelText.addEventListener("keydown", (event) => {
      if (event.key !== "Enter" || event.shiftKey || event.isComposing) return;
      if (!isComplete(readKernel())) return;
      event.preventDefault();
      apply();
    });
    form.addEventListener("change", (event) => {
      if (event.target === preset || event.target === kernelText) return;
      if (event.target.name === "sample") {
        upload.value = "";
        upload.dispatchEvent(new Event("file-picker:cleared"));
      }
      apply();
    });
    form.addEventListener("submit", (event) => { event.preventDefault(); apply(); });

    const first = preset.selectedOptions[0];
    if (first && first.dataset.text) kernelText.value = first.dataset.text;
    apply();
  }

  mount("kernel-playground", setup);
})();
