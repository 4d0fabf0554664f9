// Lesson 15 widget: the student's own session cookie (masked) and django_session
// row, read from data-api (api:session-inspector, login required); one character
// of a copy of the cookie altered on the server (data-tamper-api) to see what
// request.user it would give; and "log out everywhere else" (data-elsewhere-api).
// Helpers from widget-kit.js; the cookie itself is HttpOnly, so only the server
// can report or alter it.
"use strict";

(function () {
  const { el, errorText, fetchJson, fill, mount, scope } = window.WidgetKit;

  function setup(root) {
    if (!root.dataset.loggedIn) return;
    const { part, label } = scope(root);
    const status = part("status");
    const yes = (value) => (value ? label("Yes") : label("No"));
    const set = (role, text) => { part(role).textContent = text; };
    let cookie = null; // the last GET's cookie facts (masked)

    function showJsCookies(name) {
      const names = document.cookie.split(";").map((item) => item.split("=")[0].trim()).filter(Boolean);
      set("js-cookies", fill(label("JsCookies"), {
        names: names.length ? names.join(", ") : label("JsNone"), session: name,
      }));
    }

    // The shown characters as cells, the chosen one marked (altered when known).
    function showChars(position, character) {
      if (!cookie) return;
      const shown = (cookie.value_preview || "").replace("…", "");
      const cells = [...shown].map((char, index) => el("span", {
        className: index === position ? "char changed" : "char",
        text: index === position && character ? character : char,
      }));
      const hidden = cookie.length - shown.length;
      const rest = el("span", {
        className: position >= shown.length ? "char changed" : "char rest",
        text: `… ${fill(label("Hidden"), { count: hidden })}`,
      });
      part("chars").replaceChildren(...cells, rest);
    }

    async function load() {
      status.textContent = label("Loading");
      const { ok, status: code, data } = await fetchJson(root.dataset.api);
      if (!ok) {
        status.textContent = errorText(label("Error"), data, code);
        return;
      }
      status.textContent = "";
      const { row, user } = data;
      cookie = data.cookie;
      set("cookie-name", cookie.name);
      set("cookie-value", cookie.value_preview || label("None"));
      set("cookie-length", cookie.length ? `(${cookie.length})` : "");
      set("http-only", yes(cookie.http_only));
      set("secure", yes(cookie.secure));
      set("same-site", cookie.same_site || label("None"));
      set("max-age", fill(label("Days"), { days: cookie.max_age_days }));
      set("row-key", row.key_preview || label("None"));
      if (row.expire_date) {
        set("expire", new Date(row.expire_date).toLocaleString(document.documentElement.lang));
        const hours = Math.floor(row.seconds_left / 3600);
        set("left", fill(label("Left"), { days: Math.floor(hours / 24), hours: hours % 24 }));
      }
      set("data-length", `${row.data_length} B`);
      part("keys").replaceChildren(...row.keys.map((key) => el("li", {}, el("code", { text: key }))));
      set("row-user", row.user_id || label("None"));
      set("username", user.username);
      set("user-id", String(user.id));
      part("middleware").replaceChildren(...data.middleware.map((item) =>
        el("li", {}, el("code", { text: item.name.split(".").pop() }), ` (#${item.position})`)));
      set("shape", cookie.alphabet ? fill(label("Alphabet"), { length: cookie.length }) : "");
      set("epoch", String(user.session_epoch));
      part("tamper-form").position.max = String(cookie.length || 32);
      showJsCookies(cookie.name);
      showChars(Number(part("tamper-form").position.value) - 1, "");
    }

    const tamperForm = part("tamper-form");
    tamperForm.addEventListener("input", () => {
      showChars(Number(tamperForm.position.value) - 1, tamperForm.character.value);
    });
    tamperForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      const tamperStatus = part("tamper-status");
      const position = Number(tamperForm.position.value) - 1;
      const character = tamperForm.character.value.toLowerCase();
      tamperStatus.textContent = label("Tampering");
      set("tamper-result", "");
      part("tamper-steps").replaceChildren();
      const { ok, status: code, data } = await fetchJson(root.dataset.tamperApi, {
        method: "POST", json: { position, character }, csrfFrom: tamperForm,
      });
      if (!ok) {
        tamperStatus.textContent = errorText(label("TamperError"), data, code);
        return;
      }
      tamperStatus.textContent = "";
      const { result, yours } = data;
      const shownUser = result.someone_else ? label("SomeoneElse") : result.user;
      const parts = [fill(label("TamperResult"), { position: position + 1, character, user: shownUser })];
      if (position >= 8) parts.push(label("TamperHidden"));
      parts.push(fill(label("YoursStill"), { user: yours.user }));
      set("tamper-result", parts.join(" "));
      const steps = [result.session_found ? label("StepSessionYes") : label("StepSessionNo")];
      steps.push(result.reason === "old-hash" ? label("StepHashOld")
        : result.reason === "valid" ? label("StepValid") : label("StepUserNo"));
      part("tamper-steps").replaceChildren(...steps.map((text) => el("li", { text })));
      showChars(position, character);
    });

    const elsewhereForm = part("elsewhere-form");
    elsewhereForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      const elsewhereStatus = part("elsewhere-status");
      elsewhereStatus.textContent = label("Ending");
      const { ok, status: code, data } = await fetchJson(root.dataset.elsewhereApi, {
        method: "POST", csrfFrom: elsewhereForm,
      });
      if (!ok) {
        elsewhereStatus.textContent = errorText(label("ElsewhereError"), data, code);
        return;
      }
      elsewhereStatus.textContent = "";
      set("elsewhere-result", fill(label("ElsewhereDone"), {
        before: data.epoch_before, after: data.epoch_after, old: data.old_key_preview,
        new: data.new_key_preview, user: data.old_session.user,
      }));
      // The session was re-signed with a new key (and a new CSRF token with it).
      await load();
    });

    load().catch(() => { status.textContent = label("Error"); });
  }

  mount("session-inspector", setup);
})();
