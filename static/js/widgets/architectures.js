// Lesson 7 widget: architecture comparison, expandable layer tables, block counts.
// Data: GET data-models-url (api:arch-comparison). Labels come from data-label-*
// attributes, translated by the template; helpers from widget-kit.js.
"use strict";
(() => {
  const { el, fetchJson, formatNumber: fixed, mount, scope } = window.WidgetKit;

  function setup(root) {
    const { part, label } = scope(root);
    const fmt = (n) => fixed(n);
    // Three decimals like torchvision's table; LeNet-5's 0.0004 G needs significant digits.
    const giga = (n) => (n >= 1e7 ? fixed(n / 1e9, 3) : Number((n / 1e9).toPrecision(2)).toString());
    const shape = (dims) => dims.join(" × ");
    const cell = (tag, text, className) => el(tag, { text: String(text), className });

    function renderCompare(models) {
      const body = part("compare").tBodies[0];
      body.replaceChildren();
      models.forEach((m) => {
        const row = el("tr");
        row.append(
          cell("th", m.name),
          cell("td", m.year, "num"),
          cell("td", shape(m.input_shape)),
          cell("td", fmt(m.params), "num"),
          cell("td", giga(m.macs), "num"),
          cell("td", giga(2 * m.macs), "num"),
        );
        const published = cell("td", m.published_params === null ? "—" : fmt(m.published_params), "num");
        if (m.params_match_published !== null) {
          const badge = cell("span", m.params_match_published ? `✓ ${label("Yes")}` : `✗ ${label("No")}`,
            m.params_match_published ? "badge ok" : "badge off");
          published.append(" ", badge);
        }
        row.append(published, cell("td", m.published_gmacs === null ? "—" : fixed(m.published_gmacs, 3), "num"));
        row.firstChild.scope = "row";
        body.append(row);
      });
    }

    // Layer rows: a row with children gets a toggle; its descendants start hidden.
    function addRows(body, rows, depth, totalMacs, parentKey) {
      rows.forEach((r, i) => {
        const key = `${parentKey}${i}-`;
        const tr = el("tr", { className: `depth-${depth}`, dataset: { key } });
        if (depth > 0) tr.hidden = true;
        const name = el("td");
        if (r.children.length) {
          const toggle = cell("button", "▸", "arch-toggle");
          toggle.type = "button";
          toggle.setAttribute("aria-expanded", "false");
          toggle.setAttribute("aria-label", `${label("Expand")}: ${r.name}`);
          toggle.addEventListener("click", () => setOpen(body, tr, toggle));
          name.append(toggle, " ");
        }
        name.append(cell("code", r.name));
        const share = el("td");
        const meter = el("meter");
        meter.min = 0; meter.max = 1;
        meter.value = totalMacs ? r.macs / totalMacs : 0;
        share.append(meter, ` ${fixed(100 * meter.value, 1)}%`);
        tr.append(name, cell("td", r.type), cell("td", shape(r.output_shape)),
          cell("td", fmt(r.params), "num"), cell("td", fixed(r.macs / 1e6, 1), "num"), share);
        body.append(tr);
        addRows(body, r.children, depth + 1, totalMacs, key);
      });
    }

    function setOpen(body, tr, toggle) {
      const open = toggle.getAttribute("aria-expanded") !== "true";
      toggle.setAttribute("aria-expanded", String(open));
      toggle.textContent = open ? "▾" : "▸";
      const key = tr.dataset.key;
      const depth = Number(tr.className.replace("depth-", ""));
      body.querySelectorAll("tr").forEach((other) => {
        const otherKey = other.dataset.key || "";
        if (otherKey === key || !otherKey.startsWith(key)) return;
        const otherDepth = Number(other.className.replace("depth-", ""));
        if (!open) {
          other.hidden = true;
          const t = other.querySelector(".arch-toggle");
          if (t) { t.setAttribute("aria-expanded", "false"); t.textContent = "▸"; }
        } else if (otherDepth === depth + 1) {
          other.hidden = false;
        }
      });
    }

    function renderDetail(model) {
      part("detail").hidden = false;
      part("note").textContent = model.note;
      part("layers-caption").textContent =
        `${model.name}: ${shape(model.input_shape)} → ${shape(model.output_shape)}`;
      const body = part("layers").tBodies[0];
      body.replaceChildren();
      addRows(body, model.layers, 0, model.macs, "");
      const total = el("tr", { className: "arch-total" });
      total.append(cell("th", label("Total")), cell("td", ""), cell("td", ""),
        cell("td", fmt(model.params), "num"), cell("td", fixed(model.macs / 1e6, 1), "num"), cell("td", ""));
      body.append(total);
    }

    function renderTabs(models) {
      const tabs = part("tabs");
      tabs.replaceChildren();
      models.forEach((m, i) => {
        const tab = cell("button", m.name, "button small secondary");
        tab.type = "button";
        tab.setAttribute("role", "tab");
        tab.dataset.key = m.key;
        tab.addEventListener("click", () => {
          tabs.querySelectorAll("button").forEach((b) => b.setAttribute("aria-selected", "false"));
          tab.setAttribute("aria-selected", "true");
          renderDetail(m);
        });
        tab.setAttribute("aria-selected", i === 0 ? "true" : "false");
        tabs.append(tab);
      });
    }

    function renderBlocks(blocks) {
      part("basic-params").textContent = fmt(blocks.basic.params);
      part("basic-macs").textContent = fmt(Math.round(blocks.basic.macs / 1e6));
      part("bottleneck-params").textContent = fmt(blocks.bottleneck.params);
      part("bottleneck-macs").textContent = fmt(Math.round(blocks.bottleneck.macs / 1e6));
      const ratio = part("ratio");
      if (ratio) ratio.textContent = fixed(blocks.params_ratio, 1);
    }

    fetchJson(root.dataset.modelsUrl)
      .then(({ ok, data }) => {
        if (!ok) throw new Error(label("Error"));
        part("status").hidden = true;
        part("convention").textContent = data.convention;
        renderCompare(data.models);
        renderTabs(data.models);
        renderBlocks(data.blocks);
        // Open ResNet50 first: it has both stages and bottlenecks to expand.
        const start = data.models.find((m) => m.key === "resnet50") || data.models[0];
        part("tabs").querySelector(`[data-key="${start.key}"]`).click();
      })
      .catch(() => { part("status").textContent = label("Error"); });
  }

  mount("architectures", setup);
})();
