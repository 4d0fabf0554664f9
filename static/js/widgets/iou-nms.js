// Lesson 10 widgets.
// 1. IoU: two boxes the student drags; IoU recomputed live (same formula as
//    demos/playgrounds.iou, which the tests hold against torchvision.ops.box_iou).
// 2. NMS: candidate boxes of the real person detector on a sample photo and the
//    NMS rounds, both from data-api (api:playground-nms); this script replays them.
// Helpers come from static/js/widget-kit.js.
"use strict";
(() => {
  const { errorText, fetchJson, fill, mount, scope } = window.WidgetKit;

  function iou(a, b) {
    const w = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]));
    const h = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
    const inter = w * h;
    const union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
    return { inter, union, value: union > 0 ? inter / union : 0 };
  }

  // --- 1. Draggable boxes ---------------------------------------------------------
  function setupIou(iouRoot) {
    const { part: $, label } = scope(iouRoot);
    const canvas = $("canvas");
    const ctx = canvas.getContext("2d");
    const boxes = [[80, 60, 280, 230], [170, 110, 380, 280]];
    const colours = ["#3b5bdb", "#e8590c"];
    const HANDLE = 12;
    let drag = null;

    const draw = () => {
      ctx.clearRect(0, 0, canvas.width, canvas.height);
      ctx.fillStyle = "#f8f9fa";
      ctx.fillRect(0, 0, canvas.width, canvas.height);
      const [a, b] = boxes;
      const ix1 = Math.max(a[0], b[0]);
      const iy1 = Math.max(a[1], b[1]);
      const ix2 = Math.min(a[2], b[2]);
      const iy2 = Math.min(a[3], b[3]);
      if (ix2 > ix1 && iy2 > iy1) {
        ctx.fillStyle = "rgba(43, 138, 62, 0.35)";
        ctx.fillRect(ix1, iy1, ix2 - ix1, iy2 - iy1);
      }
      boxes.forEach((box, i) => {
        ctx.strokeStyle = colours[i];
        ctx.lineWidth = 3;
        ctx.strokeRect(box[0], box[1], box[2] - box[0], box[3] - box[1]);
        ctx.fillStyle = colours[i];
        ctx.fillRect(box[2] - HANDLE, box[3] - HANDLE, HANDLE, HANDLE);
        ctx.font = "bold 16px sans-serif";
        ctx.fillText(i === 0 ? "A" : "B", box[0] + 6, box[1] + 20);
      });
      const result = iou(a, b);
      $("iou").textContent = result.value.toFixed(2);
      $("readout").textContent = fill(label("Readout"), {
        inter: Math.round(result.inter), union: Math.round(result.union), iou: result.value.toFixed(3),
      });
      $("code").textContent = [
        "import torch",
        "from torchvision.ops import box_iou",
        "",
        `a = torch.tensor([[${a.map(Math.round).join(", ")}]], dtype=torch.float)   # x1, y1, x2, y2`,
        `b = torch.tensor([[${b.map(Math.round).join(", ")}]], dtype=torch.float)`,
        `print(box_iou(a, b))   # tensor([[${result.value.toFixed(4)}]])`,
      ].join("\n");
    };

    const point = (event) => {
      const rect = canvas.getBoundingClientRect();
      const scale = canvas.width / rect.width;
      return [(event.clientX - rect.left) * scale, (event.clientY - rect.top) * scale];
    };
    canvas.addEventListener("pointerdown", (event) => {
      const [x, y] = point(event);
      for (let i = boxes.length - 1; i >= 0; i -= 1) {
        const box = boxes[i];
        const onHandle = x >= box[2] - HANDLE - 4 && x <= box[2] + 4 && y >= box[3] - HANDLE - 4 && y <= box[3] + 4;
        const inside = x >= box[0] && x <= box[2] && y >= box[1] && y <= box[3];
        if (onHandle || inside) {
          drag = { index: i, mode: onHandle ? "resize" : "move", x, y, start: box.slice() };
          canvas.setPointerCapture(event.pointerId);
          event.preventDefault();
          return;
        }
      }
    });
    canvas.addEventListener("pointermove", (event) => {
      if (!drag) return;
      const [x, y] = point(event);
      const dx = x - drag.x;
      const dy = y - drag.y;
      const s = drag.start;
      const box = boxes[drag.index];
      if (drag.mode === "move") {
        const w = s[2] - s[0];
        const h = s[3] - s[1];
        box[0] = Math.max(0, Math.min(canvas.width - w, s[0] + dx));
        box[1] = Math.max(0, Math.min(canvas.height - h, s[1] + dy));
        box[2] = box[0] + w;
        box[3] = box[1] + h;
      } else {
        box[2] = Math.max(s[0] + 20, Math.min(canvas.width, s[2] + dx));
        box[3] = Math.max(s[1] + 20, Math.min(canvas.height, s[3] + dy));
      }
      draw();
    });
    const stop = () => { drag = null; };
    canvas.addEventListener("pointerup", stop);
    canvas.addEventListener("pointercancel", stop);
    draw();
  }

  // --- 2. NMS step by step ------------------------------------------------------------
  function setupNms(root) {
    const { part: $, label } = scope(root);
    const form = $("form");
    const canvas = $("canvas");
    const ctx = canvas.getContext("2d");
    const photo = new Image();
    let data = null;
    let shown = 0; // how many NMS steps are replayed
    let highlight = null; // [outer, inner, iou, inside]: the nested pair drawn on top
    const percent = (share) => `${Math.round(share * 100)} %`;

    function drawBox(box, colour, width, dashed, text) {
      ctx.save();
      ctx.strokeStyle = colour;
      ctx.lineWidth = width;
      if (dashed) ctx.setLineDash([5, 4]);
      ctx.strokeRect(box[0], box[1], box[2] - box[0], box[3] - box[1]);
      ctx.restore();
      if (text) {
        ctx.font = "bold 12px sans-serif";
        const w = ctx.measureText(text).width + 6;
        ctx.fillStyle = colour;
        ctx.fillRect(box[0], box[1], w, 16);
        ctx.fillStyle = "#fff";
        ctx.fillText(text, box[0] + 3, box[1] + 12);
      }
    }

    function state() {
      const kept = data.steps.slice(0, shown).map((step) => step.keep);
      const removed = new Set(data.steps.slice(0, shown).flatMap((step) => step.suppressed));
      return { kept, removed };
    }

    function drawHighlight() {
      const [outer, inner, value, share] = highlight;
      const a = data.candidates[outer].box;
      const b = data.candidates[inner].box;
      ctx.save();
      ctx.fillStyle = "rgba(0, 0, 0, 0.45)";
      ctx.fillRect(0, 0, canvas.width, canvas.height);
      ctx.restore();
      if (photo.complete && photo.naturalWidth) {
        // The outer box's part of the photo stays bright.
        const sx = photo.naturalWidth / data.width;
        const sy = photo.naturalHeight / data.height;
        ctx.drawImage(photo, a[0] * sx, a[1] * sy, (a[2] - a[0]) * sx, (a[3] - a[1]) * sy,
          a[0], a[1], a[2] - a[0], a[3] - a[1]);
      }
      ctx.save();
      ctx.fillStyle = "rgba(174, 62, 201, 0.3)";
      ctx.fillRect(b[0], b[1], b[2] - b[0], b[3] - b[1]);
      ctx.restore();
      drawBox(a, "#1971c2", 4, false, `#${outer}`);
      drawBox(b, "#ae3ec9", 4, false, `#${inner}`);
      const text = `IoU ${value.toFixed(2)} ≤ ${data.iou_threshold.toFixed(2)} · ${fill(label("Inside"), { share: percent(share) })}`;
      ctx.font = "bold 14px sans-serif";
      const w = ctx.measureText(text).width + 10;
      const x = Math.max(0, Math.min(canvas.width - w, b[0]));
      const y = Math.min(canvas.height - 22, b[3] + 4);
      ctx.fillStyle = "#ae3ec9";
      ctx.fillRect(x, y, w, 20);
      ctx.fillStyle = "#fff";
      ctx.fillText(text, x + 5, y + 15);
    }

    function draw() {
      if (!data) return;
      canvas.width = data.width;
      canvas.height = data.height;
      if (photo.complete && photo.naturalWidth) ctx.drawImage(photo, 0, 0, data.width, data.height);
      const { kept, removed } = state();
      const current = shown > 0 ? data.steps[shown - 1] : null;
      data.candidates.forEach((candidate, index) => {
        if (kept.includes(index)) return;
        if (removed.has(index)) {
          const justNow = current && current.suppressed.includes(index);
          const nested = current && current.nested.includes(index);
          if (justNow) drawBox(candidate.box, nested ? "#ae3ec9" : "#c92a2a", 2, true, `#${index}`);
          return;
        }
        drawBox(candidate.box, "rgba(255, 255, 255, 0.85)", 1.5, true, "");
      });
      kept.forEach((index) => {
        const isCurrent = current && current.keep === index;
        const candidate = data.candidates[index];
        drawBox(candidate.box, isCurrent ? "#f08c00" : "#2b8a3e", 3, false,
          `#${index} ${candidate.score.toFixed(2)}`);
      });
      if (highlight) drawHighlight();
    }

    function explain() {
      const threshold = data.iou_threshold.toFixed(2);
      if (shown === 0) {
        $("explain").textContent = fill(label("Start"), {
          count: data.candidates.length, score: data.score_threshold.toFixed(2),
        });
        return;
      }
      const step = data.steps[shown - 1];
      const listed = (rows) => rows.map(([i, value]) => `#${i} (IoU ${value.toFixed(2)})`);
      const byIou = step.compared.filter(([i]) => step.suppressed.includes(i) && !step.nested.includes(i));
      const nested = step.compared.filter(([i]) => step.nested.includes(i))
        .map(([i, value, share]) => `#${i} (IoU ${value.toFixed(2)}, ${fill(label("Inside"), { share: percent(share) })})`);
      const stay = step.compared.filter(([i]) => !step.suppressed.includes(i));
      const parts = [
        fill(label("Step"), {
          step: shown, keep: step.keep, score: data.candidates[step.keep].score.toFixed(2),
        }),
        `${fill(label("Removed"), { threshold })} ${listed(byIou).join(", ") || label("None")}.`,
      ];
      if (nested.length) {
        parts.push(`${fill(label("NestedRemoved"), { share: percent(data.nested_threshold), keep: step.keep })} ${nested.join(", ")}.`);
      }
      parts.push(`${fill(label("Survived"), { threshold })} ${listed(stay).join(", ") || label("None")}.`);
      if (shown === data.steps.length) {
        parts.push(fill(label("Done"), {
          kept: data.kept.length, count: data.candidates.length, people: data.truth.length,
        }));
        if (data.nested_kept.length) parts.push(fill(label("DoneNested"), { nested: data.nested_kept.length }));
      }
      $("explain").textContent = parts.join(" ");
    }

    function peopleIou() {
      let most = 0;
      data.truth.forEach((a, i) => data.truth.slice(i + 1).forEach((b) => { most = Math.max(most, iou(a, b).value); }));
      return most;
    }

    function explainNested() {
      const out = $("nested-explain");
      if (!data.nested_kept.length) {
        highlight = null;
        out.textContent = label("NestedNone");
        return;
      }
      highlight = data.nested_kept[0];
      const [outer, inner, value, share] = highlight;
      const values = {
        outer, inner, iou: value.toFixed(2), share: percent(share),
        threshold: data.iou_threshold.toFixed(2), people_iou: peopleIou().toFixed(2),
        rule: percent(Number(root.dataset.nestedShare)),
      };
      out.textContent = `${fill(label("NestedPair"), values)} ${fill(label("NestedFixes"), values)}`;
      $("nested-fix").hidden = false;
    }

    function writeCode() {
      const boxes = data.candidates.map((c) => `    [${c.box.join(", ")}],`).join("\n");
      const scores = data.candidates.map((c) => c.score).join(", ");
      const head = [
        "import torch",
        "from torchvision.ops import box_area, box_iou, nms",
        "",
        "boxes = torch.tensor([",
        boxes,
        "])",
        `scores = torch.tensor([${scores}])`,
      ];
      if (data.nested_threshold === null) {
        $("code").textContent = [
          ...head,
          `keep = nms(boxes, scores, iou_threshold=${data.iou_threshold})`,
          `print(keep)   # tensor([${data.kept.join(", ")}])`,
        ].join("\n");
        return;
      }
      $("code").textContent = [
        ...head,
        "",
        "",
        `def nms_nested(boxes, scores, iou_threshold=${data.iou_threshold}, inside=${data.nested_threshold}):`,
        '    """NMS by IoU, plus: drop a box lying more than `inside` of it inside a kept box."""',
        "    order = torch.argsort(scores, descending=True, stable=True).tolist()",
        "    keep = []",
        "    while order:",
        "        best, rest = order[0], order[1:]",
        "        keep.append(best)",
        "        if not rest:",
        "            break",
        "        a, others = boxes[best : best + 1], boxes[rest]",
        "        corner_min = torch.maximum(a[:, :2], others[:, :2])",
        "        corner_max = torch.minimum(a[:, 2:], others[:, 2:])",
        "        overlap = (corner_max - corner_min).clamp(min=0).prod(dim=1)",
        "        smaller = torch.minimum(box_area(a), box_area(others))",
        "        gone = (box_iou(a, others)[0] > iou_threshold) | (overlap / smaller > inside)",
        "        order = [i for i, g in zip(rest, gone.tolist()) if not g]",
        "    return torch.tensor(keep)",
        "",
        "",
        `print(nms(boxes, scores, ${data.iou_threshold}))   # IoU only`,
        `print(nms_nested(boxes, scores))   # tensor([${data.kept.join(", ")}])`,
      ].join("\n");
    }

    function render() { draw(); explain(); }

    async function load() {
      $("iou-out").textContent = Number(form.iou_threshold.value).toFixed(2);
      $("score-out").textContent = Number(form.score_threshold.value).toFixed(2);
      $("status").textContent = label("Loading");
      const option = $("sample").selectedOptions[0];
      $("download").href = option.dataset.url;
      $("demo-link").href = `${root.dataset.demoUrl}?sample=${encodeURIComponent(option.value)}`;
      const params = new URLSearchParams(new FormData(form));
      // An unticked box sends nothing; the server's default is the rule on.
      params.set("drop_nested", $("nested-rule").checked ? "true" : "false");
      // Until the student moves the score slider, the server picks the detector's default.
      if (!scoreTouched) params.delete("score_threshold");
      const { ok, data: result } = await fetchJson(root.dataset.api, { query: params });
      if (!ok) {
        $("status").textContent = errorText(label("Error"), result);
        return false;
      }
      data = result;
      shown = 0;
      highlight = null;
      $("nested-explain").textContent = "";
      $("nested-fix").hidden = true;
      form.score_threshold.value = data.score_threshold;
      $("score-out").textContent = data.score_threshold.toFixed(2);
      $("status").textContent = "";
      $("source").textContent = data.note
        ? `${label("Fallback")} ${data.note}`
        : fill(label("Detector"), { detector: data.detector });
      writeCode();
      if (photo.getAttribute("src") !== data.image_url) {
        photo.onload = render;
        photo.src = data.image_url;
      }
      render();
      return true;
    }

    $("next").addEventListener("click", () => {
      if (data && shown < data.steps.length) { shown += 1; highlight = null; render(); }
    });
    $("all").addEventListener("click", () => { if (data) { shown = data.steps.length; render(); } });
    $("reset").addEventListener("click", () => { shown = 0; highlight = null; render(); });
    $("nested-show").addEventListener("click", async () => {
      if ($("nested-rule").checked || !data) {
        $("nested-rule").checked = false;
        if (!(await load())) return;
      }
      shown = data.steps.length;
      explainNested();
      render();
    });
    $("nested-fix").addEventListener("click", async () => {
      $("nested-rule").checked = true;
      if (await load()) { shown = data.steps.length; render(); }
    });
    let timer = null;
    let scoreTouched = false;
    form.addEventListener("input", (event) => {
      if (event.target.name === "score_threshold") scoreTouched = true;
      if (event.target.name === "sample") scoreTouched = false;
      clearTimeout(timer);
      timer = setTimeout(load, 250);
    });
    form.addEventListener("submit", (event) => { event.preventDefault(); load(); });
    load();
  }

  mount("iou", setupIou);
  mount("iou-nms", setupNms);
})();
