// Detection jobs: poll the small JSON status endpoint and redraw each job card
// (state, progress bar, reason, link to the result) without reloading the page.
// Loaded with `defer`; no inline scripts (CSP). Texts come from data-* attributes
// the server translated; state labels come translated in the JSON.
"use strict";

(() => {
  const POLL_MS = 1500;
  const MAX_POLL_MS = 15000;

  function redraw(card, job) {
    card.dataset.state = job.state;
    card.classList.remove("job-queued", "job-running", "job-done", "job-failed");
    card.classList.add(`job-${job.state}`);
    card.querySelector("[data-job-state]").textContent = job.state_label;
    const bar = card.querySelector("[data-job-progress]");
    if (job.state === "running") {
      bar.removeAttribute("value"); // indeterminate: the detector is working
    } else {
      bar.value = job.progress;
    }
    bar.hidden = job.state === "done" || job.state === "failed";
    card.querySelector("[data-job-detail]").textContent = job.detail;
    const link = card.querySelector("[data-job-link]");
    if (job.run_url) {
      link.href = job.run_url;
      link.hidden = false;
      const thumb = card.querySelector(".job-thumb");
      if (thumb && !thumb.querySelector("img") && job.thumb_url) {
        const a = document.createElement("a");
        a.href = job.run_url;
        const img = document.createElement("img");
        img.src = job.thumb_url;
        img.alt = "";
        a.append(img);
        thumb.append(a);
      }
    }
  }

  function initPanel(panel) {
    const status = panel.querySelector("[data-jobs-status]");
    const cards = () => Array.from(panel.querySelectorAll("[data-job]"));
    const pending = () => cards().filter((c) => c.dataset.state === "queued" || c.dataset.state === "running");
    let delay = POLL_MS;

    const poll = () => {
      const waiting = pending();
      if (!waiting.length) {
        if (status && cards().length) status.textContent = panel.dataset.msgAllDone;
        return;
      }
      const url = new URL(panel.dataset.statusUrl, window.location.href);
      waiting.forEach((card) => url.searchParams.append("id", card.dataset.jobId));
      fetch(url.href, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then((response) => {
          if (!response.ok) throw new Error(String(response.status));
          return response.json();
        })
        .then((body) => {
          body.jobs.forEach((job) => {
            const card = panel.querySelector(`[data-job-id="${job.id}"]`);
            if (card) redraw(card, job);
          });
          if (status) status.textContent = "";
          delay = POLL_MS;
          window.setTimeout(poll, delay);
        })
        .catch(() => {
          // The server restarts or the network blinks: back off, keep trying.
          if (status) status.textContent = panel.dataset.msgPollFailed;
          delay = Math.min(delay * 2, MAX_POLL_MS);
          window.setTimeout(poll, delay);
        });
    };
    window.setTimeout(poll, POLL_MS);
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll("[data-jobs]").forEach(initPanel);
  });
})();
