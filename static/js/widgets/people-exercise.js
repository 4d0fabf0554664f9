// Lesson 10, the guided exercise: POST the student's printout (English or Korean)
// and run id to data-api (api:exercise-people) and show the loop or indexing bug
// the server diagnosed, then, person by person (matched by box), how the printout
// compares with the person demo's crops.
"use strict";

(function () {
  const { el, errorText, fetchJson, fill, mount, scope } = window.WidgetKit;

  function setup(root) {
    const { part, label } = scope(root);
    const form = part("form");
    if (!form) return;
    const status = part("status");
    const text = (value) => (value ? `(${value.join(", ")})` : "–");
    const findings = part("code");

    // What ast found in the pasted code (null when no code was pasted).
    function showCode(code) {
      findings.hidden = !code;
      if (!code) return;
      let items;
      if (!code.parsed) items = [el("li", { text: label("CodeUnparsed") })];
      else if (!code.problems.length) items = [el("li", { text: label("CodeClean") })];
      else {
        items = code.problems.map((problem) => el("li", { dataset: { key: problem.key } },
          el("strong", { text: `${fill(label("Line"), { line: problem.line })}: ` }), problem.text));
      }
      findings.replaceChildren(el("li", { className: "muted", text: label("Code") }), ...items);
    }

    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      status.textContent = label("Checking");
      const { ok, status: code, data } = await fetchJson(root.dataset.api, {
        method: "POST", body: new FormData(form), csrfFrom: form,
      });
      if (!ok) {
        status.textContent = errorText(label("Error"), data, code);
        part("table").hidden = true;
        findings.hidden = true;
        return;
      }
      const matching = data.people.filter((person) => person.ok).length;
      status.replaceChildren(
        el("strong", { text: data.passed
          ? fill(label("Passed"), { count: data.expected_count })
          : fill(label("Failed"), { ok: matching, count: data.expected_count }) }),
        ...data.problems.map((problem) => el("span",
          { className: "exercise-problem", dataset: { key: problem.key }, text: ` ${problem.text}` })));
      status.dataset.passed = data.passed ? "1" : "0";
      status.dataset.diagnosis = data.diagnosis;
      status.lang = data.language;
      part("rows").replaceChildren(...data.people.map((person) => el("tr",
        { className: person.ok ? "right" : "wrong" },
        el("td", { text: person.printed_number && person.printed_number !== person.number
          ? `${person.number} (${person.printed_number})` : String(person.number) }),
        el("td", { text: text(person.expected_box) }),
        el("td", { text: text(person.expected_crop) }),
        el("td", { text: text(person.printed_box) }),
        el("td", { text: text(person.printed_crop) }),
        el("td", { text: person.ok ? label("Ok") : person.problems.map((p) => p.text).join(" ") }))));
      part("table").hidden = false;
      showCode(data.code);
    });
  }

  mount("people-exercise", setup);
})();
