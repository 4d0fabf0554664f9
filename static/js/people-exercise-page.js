// The "people one by one" exercise page (templates/demos/lessons/people_exercise.html):
// fetches the run's raw boxes (api:exercise-people-data), starts Python in a Web
// Worker (people-exercise-worker.js, Pyodide served by the portal), runs each step's
// code there, draws the crops the code made from the photo beside the demo's crops,
// words the judge's findings from the #people-exercise-texts JSON and stores each
// step's verdict (api:exercise-people-step). A run that takes too long is stopped by
// ending the worker and starting a new one. The last step ("another-photo") runs
// the student's function on a second photo (data.other: another run of theirs or a
// shipped sample), drawn from that photo.
"use strict";

(function () {
  const { el, fill, fetchJson, scope } = window.WidgetKit;
  const TIME_LIMIT_S = 10;
  const BOOT_LIMIT_S = 90;
  const CROP_HEIGHT = 120;

  function start(root) {
    const { part, label } = scope(root);
    const status = part("status");
    const photo = part("photo");
    const texts = JSON.parse(document.getElementById("people-exercise-texts").textContent);
    const steps = [...document.querySelectorAll("[data-step]")];
    let data = null;
    let dataJson = "";
    let otherJson = "";
    const OTHER = "another-photo";
    const imageOf = (step) => (step === OTHER ? document.querySelector('[data-role="other-photo"]') : photo);
    let worker = null;
    let ready = null;
    let pending = null;
    let nextId = 1;

    function say(text, passed) {
      status.textContent = text;
      if (passed !== undefined) status.dataset.passed = passed ? "1" : "0";
    }

    async function moduleSources() {
      const modules = {};
      await Promise.all([["exercise_steps", root.dataset.moduleExerciseSteps],
        ["code_checks", root.dataset.moduleCodeChecks]].map(async ([name, url]) => {
        const response = await fetch(url, { credentials: "same-origin" });
        if (!response.ok) throw new Error(`${url}: ${response.status}`);
        modules[name] = await response.text();
      }));
      return modules;
    }

    // A fresh worker with Python booted; resolves when it is ready.
    function startWorker(modules) {
      worker = new Worker(root.dataset.worker);
      ready = new Promise((resolve, reject) => {
        worker.onmessage = (event) => {
          const message = event.data;
          if (message.type === "ready") resolve();
          else if (message.type === "failed") reject(new Error(message.error));
          else if (message.type === "result" && pending && pending.id === message.id) {
            const { resolve: done, timer } = pending;
            pending = null;
            clearTimeout(timer);
            done(message);
          }
        };
        worker.onerror = (event) => reject(new Error(event.message || "worker error"));
        // Python that never starts (blocked WebAssembly, a missing file) fails, not hangs.
        setTimeout(() => reject(new Error(`no answer after ${BOOT_LIMIT_S} s`)), BOOT_LIMIT_S * 1000);
      });
      worker.postMessage({ type: "boot", indexURL: root.dataset.pyodide, modules });
      return ready;
    }

    function runInWorker(step, code, modules) {
      return new Promise((resolve) => {
        const id = nextId++;
        const timer = setTimeout(() => {
          pending = null;
          worker.terminate();
          startWorker(modules).catch(() => {});
          resolve({ timedOut: true });
        }, TIME_LIMIT_S * 1000);
        pending = { id, resolve, timer };
        worker.postMessage({ type: "run", id, step, code, data: step === OTHER ? otherJson : dataJson });
      });
    }

    const cropFigure = (image) => (crop, index) => {
      const [x1, y1, x2, y2] = crop.rect;
      const width = x2 - x1;
      const height = y2 - y1;
      const caption = crop.name || crop.title || String(index);
      let picture;
      if (width <= 0 || height <= 0) {
        picture = el("div", { className: "empty-crop",
          text: `${label("Empty")} (${crop.shape.join(", ")})` });
      } else {
        picture = el("canvas");
        const scale = Math.min(1, CROP_HEIGHT / height);
        picture.width = Math.max(1, Math.round(width * scale));
        picture.height = Math.max(1, Math.round(height * scale));
        picture.getContext("2d").drawImage(image, x1, y1, width, height, 0, 0,
          picture.width, picture.height);
      }
      return el("li", { dataset: { rect: crop.rect.join(","), source: crop.source ?? "" } },
        el("figure", {}, picture, el("figcaption", { text: caption })));
    };

    // The demo's people: its crop images, or (a sample photo) cut from the photo.
    function demoCrops(list, source, image) {
      list.replaceChildren(...source.demo_people.map((person) => {
        const caption = `#${person.number} (${person.box.join(", ")})`;
        if (!person.crop_url) {
          const [x1, y1, x2, y2] = person.box;
          return cropFigure(image)({ rect: person.box, shape: [y2 - y1, x2 - x1, 3], title: caption });
        }
        return el("li", {}, el("figure", {}, el("img", { src: person.crop_url, alt: `#${person.number}` }),
          el("figcaption", { text: caption })));
      }));
    }

    // Once step 5 passes, the last step starts from the student's own loop, in a function.
    function carryLoop(code) {
      const target = document.querySelector(`[data-step="${OTHER}"] [data-role="code"]`);
      if (!target || target.value !== target.defaultValue) return;
      const body = code.split("\n").map((line) => (line.trim() ? `    ${line}` : "")).join("\n");
      target.value = `def save_people(img, boxes, threshold):\n${body.trimEnd()}\n\n\n`
        + "# Here img, boxes and threshold are another photo's, with its own raw boxes.\n"
        + "save_people(img, boxes, threshold)\n";
    }

    function showResult(section, step, message) {
      const sectionPart = (role) => section.querySelector(`[data-role="${role}"]`);
      const verdictLine = sectionPart("verdict");
      const feedback = sectionPart("feedback");
      const printed = sectionPart("printed");
      let items = [];
      let passed = false;
      let diagnosis = "";
      if (message.timedOut) {
        diagnosis = "timeout";
        items = [el("li", { text: fill(texts.step.timeout, { seconds: TIME_LIMIT_S }) })];
        sectionPart("yours").replaceChildren();
        printed.hidden = true;
      } else if (message.failure) {
        diagnosis = "error";
        items = [el("li", { text: message.failure })];
      } else {
        const { verdict, checks } = message;
        passed = verdict.passed;
        diagnosis = verdict.diagnosis;
        items = verdict.problems.map((problem) => el("li",
          { dataset: { key: problem.code } }, fill(texts.step[problem.code] || problem.code, problem.params)));
        if (!passed && checks.parsed && checks.problems.length) {
          items.push(el("li", { className: "muted", text: label("Code") }));
          checks.problems.forEach((problem) => items.push(el("li",
            { dataset: { key: problem.key, kind: "code" } },
            el("strong", { text: `${fill(label("Line"), { line: problem.line })}: ` }),
            texts.code[problem.key] || problem.key)));
        }
        printed.textContent = verdict.run.printed || label("NoPrint");
        printed.hidden = false;
        sectionPart("yours").replaceChildren(...verdict.crops.map(cropFigure(imageOf(step))));
      }
      verdictLine.textContent = passed ? label("Passed") : label("NotYet");
      verdictLine.dataset.passed = passed ? "1" : "0";
      verdictLine.dataset.diagnosis = diagnosis;
      feedback.replaceChildren(...items);
      feedback.hidden = !items.length;
      section.dataset.passed = passed ? "1" : "0";
      if (passed && step === "save") carryLoop(section.querySelector('[data-role="code"]').value);
      fetchJson(root.dataset.stepUrl, {
        method: "POST", csrfFrom: root,
        json: { run: root.dataset.run, step, passed, diagnosis },
      });
    }

    async function boot() {
      say(label("Loading"));
      const answer = await fetchJson(root.dataset.dataUrl);
      if (!answer.ok) throw new Error(answer.data.detail || String(answer.status));
      data = answer.data;
      dataJson = JSON.stringify(data);
      otherJson = JSON.stringify(data.other);
      const otherPhoto = imageOf(OTHER);
      if (otherPhoto) {
        otherPhoto.src = data.other.image_url;
        const caption = document.querySelector('[data-role="other-caption"]');
        caption.textContent = `${label(data.other.source === "run" ? "OtherRun" : "OtherSample")} `
          + `${data.other.title}, ${fill(label("OtherSize"), { width: data.other.width,
            height: data.other.height, threshold: data.other.threshold.toFixed(2) })}`;
        await otherPhoto.decode().catch(() => {});
      }
      await photo.decode().catch(() => {});
      const modules = await moduleSources();
      await startWorker(modules);
      steps.forEach((section) => {
        const step = section.dataset.step;
        const code = section.querySelector('[data-role="code"]');
        const starter = code.value;
        const button = section.querySelector('[data-role="run"]');
        demoCrops(section.querySelector('[data-role="demo"]'), step === OTHER ? data.other : data,
          imageOf(step));
        const parsons = section.querySelector('[data-role="parsons"]');
        const lineButtons = parsons ? [...parsons.querySelectorAll("[data-line]")] : [];
        section.querySelector('[data-role="reset"]').addEventListener("click", () => {
          code.value = parsons && !parsons.hidden ? "" : starter;
          lineButtons.forEach((line) => { line.hidden = false; });
        });
        if (parsons) {
          // Parsons mode: the code is built by clicking the given lines in order.
          section.querySelector('[data-role="parsons-toggle"]').addEventListener("click", () => {
            parsons.hidden = !parsons.hidden;
            code.value = parsons.hidden ? starter : "";
            const list = parsons.querySelector("ol");
            lineButtons.forEach((line) => { line.hidden = false; });
            [...list.children].sort(() => Math.random() - 0.5).forEach((item) => list.append(item));
          });
          lineButtons.forEach((line) => line.addEventListener("click", () => {
            code.value += `${line.dataset.line}\n`;
            line.hidden = true;
          }));
        }
        button.disabled = false;
        button.addEventListener("click", async () => {
          button.disabled = true;
          const verdictLine = section.querySelector('[data-role="verdict"]');
          verdictLine.textContent = label("Running");
          delete verdictLine.dataset.passed;
          try {
            await ready;
            showResult(section, step, await runInWorker(step, code.value, modules));
          } finally {
            button.disabled = false;
          }
        });
      });
      say(label("Ready"), true);
    }

    boot().catch((error) => say(`${label("FailedLoad")} ${error.message}`, false));
  }

  function mountPage() {
    const root = document.querySelector('[data-testid="people-exercise"]');
    if (root) start(root);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", mountPage);
  else mountPage();
})();
