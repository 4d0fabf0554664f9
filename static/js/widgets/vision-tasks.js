// Lesson 14 widget: one sample photo shown as each vision task would answer it, the
// YOLOv1 grid over it, and YOLOv1's arithmetic from data-api
// (api:playground-vision-tasks, the Python the tests hold against torchvision).
"use strict";

(function () {
  const { errorText, fetchJson, fill, formatNumber, mount, scope } = window.WidgetKit;
  const COLOURS = ["#e8590c", "#1c7ed6", "#2f9e44", "#ae3ec9", "#f08c00"];

  function setup(root) {
    const { part, label } = scope(root);
    const form = part("form");
    const canvas = part("canvas");
    const context = canvas.getContext("2d");
    const status = part("status");
    const photo = new Image();
    let data = null;
    let ticket = 0;
    let timer = null;

    const n = (value, digits = 3) => formatNumber(Number(value).toFixed(digits), digits);

    function task() {
      return form.querySelector("input[name=task]:checked").value;
    }

    function draw() {
      if (!data || !photo.complete) return;
      const scale = canvas.width / data.width;
      canvas.height = Math.round(data.height * scale);
      context.drawImage(photo, 0, 0, canvas.width, canvas.height);
      const chosen = task();
      const text = part("task-text");
      context.lineWidth = 3;
      context.font = "bold 16px sans-serif";
      const boxes = data.people.map((person) => person.box.map((v) => v * scale));
      const className = label("ClassName");
      part("mask-explainer").hidden = chosen !== "segmentation";
      if (chosen === "classification") {
        context.fillStyle = "rgba(0,0,0,.6)";
        context.fillRect(8, 8, context.measureText(className).width + 20, 30);
        context.fillStyle = "#fff";
        context.fillText(className, 18, 29);
        text.textContent = fill(label("Classification"), { label: className });
      } else if (chosen === "localisation" || chosen === "detection" || chosen === "segmentation") {
        const shown = chosen === "localisation" ? [data.localisation] : boxes.map((_, i) => i);
        shown.forEach((index) => {
          const [x1, y1, x2, y2] = boxes[index];
          context.strokeStyle = COLOURS[index % COLOURS.length];
          // No segmentation model runs here: boxes only, never a made-up mask.
          context.strokeRect(x1, y1, x2 - x1, y2 - y1);
          context.fillStyle = context.strokeStyle;
          context.fillText(fill(label("Person"), { number: index + 1 }), x1 + 4, y1 + 18);
        });
        if (chosen === "segmentation") {
          const banner = label("NoMasks");
          context.font = "bold 15px sans-serif";
          context.fillStyle = "rgba(0,0,0,.7)";
          context.fillRect(0, canvas.height - 30, canvas.width, 30);
          context.fillStyle = "#fff";
          context.fillText(banner, 10, canvas.height - 10);
        }
        text.textContent = chosen === "localisation" ? label("Localisation")
          : chosen === "detection" ? fill(label("Detection"), { count: boxes.length })
          : label("Segmentation");
      } else {
        const S = data.yolo.grid;
        const cw = canvas.width / S;
        const ch = canvas.height / S;
        data.people.forEach((person, index) => {
          const [row, col] = person.cell;
          context.fillStyle = `${COLOURS[index % COLOURS.length]}88`;
          context.fillRect(col * cw, row * ch, cw, ch);
          const [x1, y1, x2, y2] = boxes[index];
          context.strokeStyle = COLOURS[index % COLOURS.length];
          context.strokeRect(x1, y1, x2 - x1, y2 - y1);
          context.beginPath();
          context.arc((x1 + x2) / 2, (y1 + y2) / 2, 5, 0, 2 * Math.PI);
          context.fill();
        });
        context.strokeStyle = "rgba(255,255,255,.85)";
        context.lineWidth = 1;
        for (let i = 1; i < S; i += 1) {
          context.beginPath();
          context.moveTo(i * cw, 0);
          context.lineTo(i * cw, canvas.height);
          context.moveTo(0, i * ch);
          context.lineTo(canvas.width, i * ch);
          context.stroke();
        }
        text.textContent = fill(label("Grid"), { grid: S });
      }
    }

    function showNumbers(yolo) {
      part("layout").textContent = fill(label("Layout"), {
        grid: yolo.grid, boxes: yolo.boxes_per_cell, classes: yolo.classes,
        per_cell: yolo.per_cell, total: formatNumber(yolo.total_outputs),
        candidates: formatNumber(yolo.candidate_boxes),
      });
      const [x1, y1, x2, y2] = yolo.true_box;
      part("cell").textContent = fill(label("Cell"), {
        cx: n((x1 + x2) / 2, 0), cy: n((y1 + y2) / 2, 0), row: yolo.cell_row, col: yolo.cell_col,
        cell: n(yolo.cell_size, 1), x: n(yolo.x), y: n(yolo.y), w: n(yolo.w), h: n(yolo.h),
        sqrt_w: n(yolo.sqrt_w), sqrt_h: n(yolo.sqrt_h),
      });
      part("confidence").textContent = fill(label("Confidence"), {
        iou: n(yolo.iou), confidence: n(yolo.confidence), p: n(yolo.class_probability, 2),
        score: n(yolo.class_score),
      });
    }

    async function load() {
      const mine = ++ticket;
      status.textContent = label("Loading");
      const query = {};
      new FormData(form).forEach((value, key) => { if (key !== "task" && value !== "") query[key] = value; });
      const { ok, status: code, data: body } = await fetchJson(root.dataset.api, { query });
      if (mine !== ticket) return;
      if (!ok) {
        status.textContent = errorText(label("Error"), body, code);
        return;
      }
      status.textContent = "";
      const newPhoto = !data || data.image_url !== body.image_url;
      data = body;
      showNumbers(body.yolo);
      if (newPhoto) {
        photo.onload = draw;
        photo.src = body.image_url;
      } else {
        draw();
      }
    }

    form.addEventListener("change", (event) => {
      if (event.target.name === "task") draw();
      else load();
    });
    form.addEventListener("input", (event) => {
      if (event.target.type !== "number") return;
      clearTimeout(timer);
      timer = setTimeout(load, 300);
    });
    form.addEventListener("submit", (event) => event.preventDefault());
    load();
  }

  mount("vision-tasks", setup);
})();
