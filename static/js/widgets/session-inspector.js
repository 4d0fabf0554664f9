// Lesson 15 widget: the student's own session cookie (masked) and django_session
// row, read from data-api (api:session-inspector, login required). Helpers from
// widget-kit.js; the cookie itself is HttpOnly, so only the server can report it.
"use strict";

(function () {
  const { el, errorText, fetchJson, fill, mount, scope } = window.WidgetKit;

  function setup(root) {
    if (!root.dataset.loggedIn) return;
    const { part, label } = scope(root);
    const status = part("status");
    const yes = (value) => (value ? label("Yes") : label("No"));
    const set = (role, text) => { part(role).textContent = text; };

    async function load() {
      status.textContent = label("Loading");
      const { ok, status: code, data } = await fetchJson(root.dataset.api);
      if (!ok) {
        status.textContent = errorText(label("Error"), data, code);
        return;
      }
      status.textContent = "";
      const { cookie, row, user } = data;
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
    }

    load().catch(() => { status.textContent = label("Error"); });
  }

  mount("session-inspector", setup);
})();
