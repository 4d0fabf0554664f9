// The lesson widgets' shared kit, loaded once by the lesson page before the widget's
// own script (templates/demos/lessons/detail.html). Plain ES, no build step, no
// inline code (the site's CSP has no 'unsafe-inline').
//
// Each widget's template puts its texts in data-label-* attributes (translated on
// the server) and its endpoints' URLs in data-* attributes set with {% url %}; the
// script reads them through these helpers:
//   WidgetKit.mount("pooling", setup)       setup(root) for each [data-widget="pooling"]
//   const { part, label } = WidgetKit.scope(root)
//     part("status")   → the element with data-role="status" inside root
//     label("Error")   → root's data-label-error text ("" if missing)
//   WidgetKit.fill("{n} boxes", { n: 3 })   → "3 boxes"
//   WidgetKit.el("td", { text: "1", className: "num" }, ...children)
//   await WidgetKit.fetchJson(url, { method, body, json, query, csrfFrom, signal })
//     → { ok, status, data }; data is {} when the answer is not JSON; json: an
//     object sent as an application/json body (instead of body)
//   WidgetKit.errorText(prefix, data, status)  → "prefix detail" for a failed answer
//   WidgetKit.formatNumber(1234.5, 1)          → "1,234.5" in the page's language
"use strict";

window.WidgetKit = (() => {
  const lang = document.documentElement.lang || "en";

  function mount(name, setup) {
    const run = () => document.querySelectorAll(`[data-widget="${name}"]`).forEach(setup);
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", run);
    else run();
  }

  function scope(root) {
    return {
      part: (role) => root.querySelector(`[data-role="${role}"]`),
      label: (name) => root.dataset[`label${name}`] || "",
    };
  }

  function fill(template, values) {
    return String(template || "").replace(/\{(\w+)\}/g, (_, key) => (key in values ? values[key] : ""));
  }

  function el(tag, props = {}, ...children) {
    const node = document.createElement(tag);
    Object.entries(props).forEach(([key, value]) => {
      if (value === undefined || value === null || value === "") return;
      if (key === "text") node.textContent = value;
      else if (key === "dataset") Object.assign(node.dataset, value);
      else node[key] = value;
    });
    node.append(...children);
    return node;
  }

  function csrfToken(scopeElement) {
    const input = scopeElement && scopeElement.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  async function fetchJson(url, { method = "GET", body, json, query, csrfFrom, signal } = {}) {
    const headers = { Accept: "application/json" };
    if (csrfFrom) headers["X-CSRFToken"] = csrfToken(csrfFrom);
    if (json !== undefined) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(json);
    }
    const search = query ? `?${new URLSearchParams(query)}` : "";
    const response = await fetch(`${url}${search}`, {
      method, body, headers, signal, credentials: "same-origin",
    });
    const data = await response.json().catch(() => ({}));
    return { ok: response.ok, status: response.status, data };
  }

  // One readable sentence: the API's "detail", else each field's first message.
  function errorText(prefix, data, status) {
    let detail = data && data.detail ? String(data.detail) : "";
    if (!detail && data && typeof data === "object") {
      detail = Object.entries(data)
        .map(([field, messages]) => {
          const text = [].concat(messages).join(" ");
          return field === "non_field_errors" ? text : `${field}: ${text}`;
        })
        .join(" ");
    }
    if (!detail && status) detail = String(status);
    return detail ? `${prefix} ${detail}` : prefix;
  }

  function formatNumber(value, digits) {
    if (digits === undefined) return Number(value).toLocaleString(lang);
    return Number(value).toLocaleString(lang, {
      minimumFractionDigits: digits, maximumFractionDigits: digits,
    });
  }

  return Object.freeze({ lang, mount, scope, fill, el, csrfToken, fetchJson, errorText, formatNumber });
})();
