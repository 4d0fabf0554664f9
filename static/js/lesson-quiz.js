// The self-check quiz under every lesson: GET the questions (no answers, choices
// as [{id, text}] in a fresh order) from data-api, POST {"answers": {id: choice id
// or the number as typed}} as JSON, show the grade and each explanation, or why
// one answer could not be read.
// Helpers come from widget-kit.js; texts from data-label-* attributes.
"use strict";

(function () {
  const { el, errorText, fetchJson, fill, mount, scope } = window.WidgetKit;

  // `code` in a prompt becomes <code> (a block when it spans lines), everything
  // else stays text (no HTML).
  function richText(text) {
    const node = el("span");
    String(text).split("`").forEach((piece, index) => {
      if (index % 2 === 0) node.append(document.createTextNode(piece));
      else if (piece.includes("\n")) node.append(el("pre", { className: "quiz-code" }, el("code", { text: piece })));
      else node.append(el("code", { text: piece }));
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
        el("div", { className: "quiz-prompt" }, richText(q.prompt)));
      if (q.kind === "choice") {
        q.choices.forEach((choice) => {
          const input = el("input", { type: "radio", name, value: choice.id });
          item.append(el("label", { className: "quiz-choice", dataset: { choice: choice.id } },
            input, " ", richText(choice.text)));
        });
      } else {
        item.append(el("label", { className: "quiz-number" }, label("Number"), " ",
          el("input", { type: "text", name, maxLength: 32, autocomplete: "off" })));
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
          if (picked) chosen[q.id] = picked.value;
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
          feedback.error ? el("span", { className: "quiz-error", text: `${feedback.error} ` }) : "",
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
