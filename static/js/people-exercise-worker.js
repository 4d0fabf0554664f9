// The "people one by one" exercise's Python: Pyodide (served by the portal from
// static/vendor/pyodide/) runs the student's code in this worker, never on the
// server. Messages: {type: "boot", indexURL, modules: {name: source}} → "ready" or
// "failed"; {type: "run", id, step, code, data} → "result" with the judge's verdict
// (demos/lessons/exercise_steps.py) and what code_checks.py reads in the code.
"use strict";

let pyodide = null;

const CHECK = `
import dataclasses, json
import code_checks, exercise_steps
_report = code_checks.check_code(_source)
_wanted = exercise_steps.CODE_PROBLEMS_BY_STEP[_step]
json.dumps({
    "parsed": _report.parsed,
    "problems": [
        {"key": key, "line": _report.line[key]}
        for key in _report.problems if key in _wanted
    ],
})
`;

async function boot(indexURL, modules) {
  importScripts(`${indexURL}pyodide.js`);
  pyodide = await self.loadPyodide({ indexURL });
  Object.entries(modules).forEach(([name, source]) => {
    pyodide.FS.writeFile(`/home/pyodide/${name}.py`, source);
  });
  pyodide.runPython("import sys; sys.path.insert(0, '/home/pyodide')");
}

function run(step, code, data) {
  const steps = pyodide.pyimport("exercise_steps");
  const verdict = JSON.parse(steps.run_step(step, code, data));
  pyodide.globals.set("_source", code);
  pyodide.globals.set("_step", step);
  const checks = JSON.parse(pyodide.runPython(CHECK));
  return { verdict, checks };
}

self.onmessage = async (event) => {
  const message = event.data;
  if (message.type === "boot") {
    try {
      await boot(message.indexURL, message.modules);
      self.postMessage({ type: "ready" });
    } catch (error) {
      self.postMessage({ type: "failed", error: String(error) });
    }
  } else if (message.type === "run") {
    try {
      self.postMessage({ type: "result", id: message.id, ...run(message.step, message.code, message.data) });
    } catch (error) {
      self.postMessage({ type: "result", id: message.id, failure: String(error) });
    }
  }
};
