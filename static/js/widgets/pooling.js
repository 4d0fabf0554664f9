// Lesson 3 widget: max vs average pooling on a real feature map.
// data-api (api:playground-pooling) returns the map and both pooled maps (computed
// in Python and tested against torch); this script draws them and shows the numbers
// of a zoomed patch with its pooling windows. Windows are drawn as they are: when
// the stride is smaller than the window they overlap, so each input cell is shaded
// by how many windows read it and the selected window (click an output number) is
// outlined cell by cell; with a larger stride the skipped cells stay grey. Helpers
// come from widget-kit.js.
"use strict";
(() => {
  const { el, errorText, fetchJson, fill, mount, scope } = window.WidgetKit;

  function setup(root) {
    const { part: $, label } = scope(root);
    const form = $("form");
    const ZOOM = 4; // screen pixels per feature-map cell
    const WINDOWS = 4; // pooling windows per side in the zoomed patch

    let data = null;
    let corner = [0, 0]; // top-left pooling window of the patch
    let selected = [0, 0]; // the outlined window, relative to the patch

    // A small perceptual colour ramp (dark blue → teal → yellow) for 0..255.
    const RAMP = [[13, 8, 135], [84, 2, 163], [139, 10, 165], [185, 50, 137],
      [219, 92, 104], [244, 136, 73], [254, 188, 43], [240, 249, 33]];
    function colour(value, top) {
      const t = Math.max(0, Math.min(1, value / (top || 1))) * (RAMP.length - 1);
      const i = Math.min(Math.floor(t), RAMP.length - 2);
      const f = t - i;
      return RAMP[i].map((c, j) => Math.round(c + (RAMP[i + 1][j] - c) * f));
    }

    function paint(canvas, grid, cell) {
      const h = grid.length;
      const w = grid[0].length;
      canvas.width = w * cell;
      canvas.height = h * cell;
      const ctx = canvas.getContext("2d");
      const image = ctx.createImageData(w, h);
      grid.forEach((row, y) => row.forEach((value, x) => {
        const [r, g, b] = colour(value, 255);
        image.data.set([r, g, b, 255], (y * w + x) * 4);
      }));
      const small = el("canvas", { width: w, height: h });
      small.getContext("2d").putImageData(image, 0, 0);
      ctx.imageSmoothingEnabled = false;
      ctx.drawImage(small, 0, 0, w * cell, h * cell);
      return ctx;
    }

    function table(element, grid, classOf) {
      element.replaceChildren();
      grid.forEach((row, y) => {
        element.append(el("tr", {}, ...row.map((value, x) => el("td", {
          text: String(value),
          className: classOf ? classOf(y, x) : "",
        }))));
      });
    }

    function showPatch() {
      const { size, stride } = data;
      const ph = data.max_pooled.length;
      const pw = data.max_pooled[0].length;
      const [r0, c0] = corner;
      const rows = Math.min(WINDOWS, ph - r0);
      const cols = Math.min(WINDOWS, pw - c0);
      const top = r0 * stride;
      const left = c0 * stride;
      const height = (rows - 1) * stride + size;
      const width = (cols - 1) * stride + size;
      const patch = data.feature_map.slice(top, top + height).map((row) => row.slice(left, left + width));
      // Every window of the patch that reads input cell (y, x), as [row, column].
      const windowsOf = (y, x) => {
        const found = [];
        for (let wr = 0; wr < rows; wr += 1) {
          for (let wc = 0; wc < cols; wc += 1) {
            const y0 = wr * stride;
            const x0 = wc * stride;
            if (y >= y0 && y < y0 + size && x >= x0 && x < x0 + size) found.push([wr, wc]);
          }
        }
        return found;
      };
      const overlapping = stride < size;
      const [sr, sc] = selected;
      const sy = sr * stride;
      const sx = sc * stride;
      const chosenMax = data.max_pooled[r0 + sr][c0 + sc];
      table($("patch"), patch, (y, x) => {
        const windows = windowsOf(y, x);
        if (!windows.length) return "outside";
        const classes = [];
        if (overlapping) {
          classes.push(`cover${Math.min(windows.length, 4)}`);
        } else {
          const [wr, wc] = windows[0];
          classes.push(`win${(wr + wc) % 2}`);
          const best = data.max_pooled[r0 + wr][c0 + wc];
          if (best > 0 && patch[y][x] === best) classes.push("is-max");
        }
        if (y >= sy && y < sy + size && x >= sx && x < sx + size) {
          classes.push("sel");
          if (y === sy) classes.push("sel-top");
          if (y === sy + size - 1) classes.push("sel-bottom");
          if (x === sx) classes.push("sel-left");
          if (x === sx + size - 1) classes.push("sel-right");
          if (overlapping && chosenMax > 0 && patch[y][x] === chosenMax) classes.push("is-max");
        }
        return classes.join(" ");
      });
      const pick = (grid) => grid.slice(r0, r0 + rows).map((row) => row.slice(c0, c0 + cols));
      const parity = (y, x) => {
        const base = overlapping ? "cover1" : `win${(y + x) % 2}`;
        return y === sr && x === sc ? `${base} sel sel-top sel-bottom sel-left sel-right` : base;
      };
      table($("patch-max"), pick(data.max_pooled), parity);
      table($("patch-avg"), pick(data.avg_pooled), parity);
      let caption = "Patch";
      if (overlapping) caption = "PatchOverlap"; else if (stride > size) caption = "PatchGaps";
      $("patch-caption").textContent = fill(label(caption), {
        row: top, col: left, size, stride,
        out_row: r0 + sr, out_col: c0 + sc,
      });
      // Outline the patch on the map.
      const ctx = paint($("map"), data.feature_map, ZOOM);
      ctx.strokeStyle = "#ffffff";
      ctx.lineWidth = 2;
      ctx.strokeRect(left * ZOOM, top * ZOOM, width * ZOOM, height * ZOOM);
      ctx.strokeStyle = "#ff3b30";
      ctx.strokeRect((left + sx) * ZOOM, (top + sy) * ZOOM, size * ZOOM, size * ZOOM);
    }

    // Clicking an output number outlines the window it was computed from.
    function selectFrom(event) {
      const cell = event.target.closest("td");
      if (!cell || !data) return;
      selected = [cell.parentElement.rowIndex, cell.cellIndex];
      showPatch();
    }

    function writeCode() {
      const { size, stride } = data;
      $("code").textContent = [
        "import torch",
        "import torch.nn.functional as F",
        "",
        "sobel_x = torch.tensor([[-1., 0., 1.], [-2., 0., 2.], [-1., 0., 1.]]).view(1, 1, 3, 3)",
        `image = torch.rand(1, 1, ${data.feature_map.length}, ${data.feature_map[0].length})   # the grey photo`,
        "fmap = F.relu(F.conv2d(F.pad(image, (1, 1, 1, 1), mode=\"reflect\"), sobel_x))",
        `max_pooled = F.max_pool2d(fmap, kernel_size=${size}, stride=${stride})`,
        `avg_pooled = F.avg_pool2d(fmap, kernel_size=${size}, stride=${stride})`,
        `print(fmap.shape, max_pooled.shape)   # [1, 1, ${data.feature_map.length}, ${data.feature_map[0].length}] → [1, 1, ${data.max_pooled.length}, ${data.max_pooled[0].length}]`,
      ].join("\n");
    }

    async function load() {
      $("status").textContent = label("Loading");
      const params = new URLSearchParams(new FormData(form));
      if (!params.get("stride")) params.delete("stride");
      const { ok, data: result } = await fetchJson(root.dataset.api, { query: params });
      if (!ok) {
        $("status").textContent = errorText(label("Error"), result);
        return;
      }
      data = result;
      $("status").textContent = "";
      const cellPooled = ZOOM * data.stride;
      paint($("max"), data.max_pooled.map((row) => row.map(Number)), cellPooled);
      paint($("avg"), data.avg_pooled, cellPooled);
      $("shapes").textContent = fill(label("Shapes"), {
        h: data.feature_map.length, w: data.feature_map[0].length,
        ph: data.max_pooled.length, pw: data.max_pooled[0].length,
        size: data.size, stride: data.stride,
      });
      // Start on the strongest response, where the numbers are interesting.
      let best = [0, 0, -1];
      data.max_pooled.forEach((row, y) => row.forEach((v, x) => { if (v > best[2]) best = [y, x, v]; }));
      corner = clampCorner(best[0] - 1, best[1] - 1);
      selected = [best[0] - corner[0], best[1] - corner[1]];
      showPatch();
      writeCode();
    }

    function clampCorner(r, c) {
      const ph = data.max_pooled.length;
      const pw = data.max_pooled[0].length;
      return [Math.max(0, Math.min(r, ph - WINDOWS)), Math.max(0, Math.min(c, pw - WINDOWS))];
    }

    $("map").addEventListener("click", (event) => {
      if (!data) return;
      const box = event.target.getBoundingClientRect();
      const scale = event.target.width / box.width;
      const x = Math.floor(((event.clientX - box.left) * scale) / ZOOM);
      const y = Math.floor(((event.clientY - box.top) * scale) / ZOOM);
      corner = clampCorner(Math.floor(y / data.stride) - 1, Math.floor(x / data.stride) - 1);
      const ph = data.max_pooled.length;
      const pw = data.max_pooled[0].length;
      const wr = Math.min(ph - 1, Math.floor(y / data.stride));
      const wc = Math.min(pw - 1, Math.floor(x / data.stride));
      selected = [
        Math.max(0, Math.min(wr - corner[0], Math.min(WINDOWS, ph - corner[0]) - 1)),
        Math.max(0, Math.min(wc - corner[1], Math.min(WINDOWS, pw - corner[1]) - 1)),
      ];
      showPatch();
    });
    $("patch-max").addEventListener("click", selectFrom);
    $("patch-avg").addEventListener("click", selectFrom);
    form.addEventListener("change", load);
    form.addEventListener("submit", (event) => { event.preventDefault(); load(); });
    load();
  }

  mount("pooling", setup);
})();
