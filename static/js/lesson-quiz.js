// The self-check quiz under every lesson: GET the questions (no answers) from
// data-api, POST {"answers": {...}} as JSON, show the grade and each explanation.
// Helpers come from widget-kit.js; texts from data-label-* attributes.
"use strict";

(function () {
  const { el, errorText, fetchJson, fill, mount, scope } = window.WidgetKit;

  // `code` in a prompt becomes <code>, everything else stays text (no HTML).
  function richText(text) {
    const node = el("span");
    String(text).split("`").forEach((piece, index) => {
      node.append(index % 2 ? el("code", { text: piece }) : document.createTextNode(piece));
    });
    return node;
  }

  function setup(root) {
    const { part, label } = scope(root);
    const form = part("form");
    const list = part("questions");
    const status = part("status");
    const submit = part("submit");
    let questions = [];

    function question(q, number) {
      const name = `quiz-${q.id}`;
      const item = el("li", { className: "quiz-question", dataset: { id: q.id } },
        el("p", { className: "quiz-prompt" }, richText(q.prompt)));
      if (q.kind === "choice") {
        q.choices.forEach((choice, index) => {
          const input = el("input", { type: "radio", name, value: String(index) });
          item.append(el("label", { className: "quiz-choice" }, input, " ", richText(choice)));
        });
      } else {
        item.append(el("label", { className: "quiz-number" }, label("Number"), " ",
          el("input", { type: "text", name, inputMode: "decimal", maxLength: 32, autocomplete: "off" })));
      }
      item.append(el("div", { className: "quiz-feedback", dataset: { role: `feedback-${number}` } }));
      return item;
    }

    function answers() {
      const chosen = {};
      questions.forEach((q) => {
        const inputs = form.querySelectorAll(`[name="quiz-${q.id}"]`);
        if (q.kind === "choice") {
          const picked = [...inputs].find((input) => input.checked);
          if (picked) chosen[q.id] = Number(picked.value);
        } else if (inputs[0].value.trim()) {
          chosen[q.id] = inputs[0].value.trim();
        }
      });
      return chosen;
    }

    function showGrade(data) {
      const byId = Object.fromEntries(data.feedback.map((item) => [item.id, item]));
      list.querySelectorAll(".quiz-question").forEach((item) => {
        const feedback = byId[item.dataset.id];
        const box = item.querySelector(".quiz-feedback");
        item.classList.toggle("right", feedback.correct);
        item.classList.toggle("wrong", !feedback.correct);
        box.replaceChildren(
          el("strong", { text: feedback.correct ? label("Right") : label("Wrong") }), " ",
          feedback.choice_explanation ? richText(`${feedback.choice_explanation} `) : "",
          richText(feedback.explanation));
      });
      const lines = [fill(label("Result"), data)];
      if (data.passed) lines.push(data.saved ? label("Passed") : label("PassedAnonymous"));
      else lines.push(fill(label("Failed"), { needed: data.pass_mark }));
      if (data.saved) lines.push(fill(label("Best"), { best: data.best_score, total: data.total }));
      status.textContent = lines.join(" ");
      status.dataset.passed = data.passed ? "1" : "0";
    }

    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      submit.disabled = true;
      try {
        const { ok, status: code, data } = await fetchJson(root.dataset.api, {
          method: "POST", json: { answers: answers() }, csrfFrom: form,
        });
        if (ok) showGrade(data);
        else status.textContent = errorText(label("Error"), data, code);
      } catch (error) {
        status.textContent = label("Error");
      } finally {
        submit.disabled = false;
      }
    });

    (async () => {
      try {
        const { ok, status: code, data } = await fetchJson(root.dataset.api);
        if (!ok) {
          status.textContent = errorText(label("Error"), data, code);
          return;
        }
        questions = data.questions;
        list.replaceChildren(...questions.map(question));
        submit.disabled = false;
        status.textContent = "";
      } catch (error) {
        status.textContent = label("Error");
      }
    })();
  }

  mount("lesson-quiz", setup);
})();
