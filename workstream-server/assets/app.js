// The workstream dashboard: plain script over the JSON API, no framework, no CDN.
// Every text from the store goes into the page through textContent, never as markup.
"use strict";

const STATES = ["active", "accepted", "finished", "blocked", "stalled", "oldie", "overdue"];
const WINDOWS = ["", "1h", "24h", "7d", "30d", "today", "this-week", "this-month"];
const SVG = "http://www.w3.org/2000/svg";
const PALETTE = ["#2f5bd3", "#12a594", "#e5a50a", "#c01c28", "#813d9c", "#26a269", "#f66151",
  "#1c71d8", "#986a44", "#5e5c64", "#63452c", "#a51d2d"];

const session = { actor: null, csrf: null, writes: false };
let refreshTimer = null;

// Elements.
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}
function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}
const badge = (text, cls) => h("span", { class: "badge " + (cls || text) }, text);
const when = (t) => (t ? new Date(t).toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z") : "");
function human(seconds) {
  const t = Math.round(Math.abs(seconds));
  const d = Math.floor(t / 86400), hr = Math.floor((t % 86400) / 3600), m = Math.floor((t % 3600) / 60);
  if (d) return `${d}d${hr ? " " + hr + "h" : ""}`;
  if (hr) return `${hr}h${m ? " " + m + "m" : ""}`;
  if (m) return `${m}m`;
  return `${t % 60}s`;
}
const offsetMinutes = () => -new Date().getTimezoneOffset();

// The API.
async function api(method, path, body) {
  const headers = { "Accept": "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET" && session.csrf) headers["X-CSRF-Token"] = session.csrf;
  const res = await fetch(path, {
    method, headers, credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch (_) { data = null; }
  if (!res.ok) {
    const e = new Error((data && data.error && data.error.message) || `${res.status} ${res.statusText}`);
    e.status = res.status;
    e.detail = data && data.error;
    throw e;
  }
  return data;
}

function banner(message, reasons, info) {
  const el = document.getElementById("banner");
  el.replaceChildren();
  el.className = info ? "info" : "";
  if (!message) { el.hidden = true; return; }
  el.hidden = false;
  el.append(h("strong", {}, message));
  if (reasons && reasons.length) {
    el.append(h("ul", { class: "reasons", id: "banner-reasons" },
      reasons.map((r) => h("li", { "data-reason": r.id }, `[${r.id}] ${r.message}`))));
  }
}
function failed(e) { banner(e.message, e.detail && e.detail.reasons); }

// Routing by the fragment: #/, #/items?…, #/item/ID, #/flow?…
function route() {
  const hash = location.hash.replace(/^#/, "") || "/";
  const [path, query] = hash.split("?");
  return { path, params: new URLSearchParams(query || "") };
}
function go(path, params) {
  const q = params && params.toString();
  location.hash = "#" + path + (q ? "?" + q : "");
}

// Renders can overlap (a live update while the person changes a filter); only the latest
// may draw, so an older one that finishes last never puts back a page for old filters.
let renderGeneration = 0;
async function render() {
  const generation = ++renderGeneration;
  const { path, params } = route();
  for (const a of document.querySelectorAll("nav a")) {
    const nav = a.getAttribute("data-nav");
    const here = (nav === "board" && path === "/") || (nav === "items" && (path === "/items" || path.startsWith("/item/")))
      || (nav === "flow" && path === "/flow");
    a.classList.toggle("here", here);
  }
  const view = document.getElementById("view");
  try {
    let content;
    if (path === "/") content = await board();
    else if (path === "/items") content = await items(params);
    else if (path.startsWith("/item/")) content = await item(path.slice(6));
    else if (path === "/flow") content = await flow(params);
    else content = h("p", {}, "No such page. ", h("a", { href: "#/" }, "The board."));
    if (generation === renderGeneration) view.replaceChildren(content);
  } catch (e) {
    if (generation !== renderGeneration) return;
    view.replaceChildren(h("p", { class: "muted" }, "This page could not be loaded."));
    failed(e);
  }
}
// A new event: draw the page again, at most every half second.
function refreshSoon() {
  if (refreshTimer) return;
  refreshTimer = setTimeout(() => { refreshTimer = null; render(); verifySoon(); }, 500);
}
// Verifying hashes the whole ledger: after new events, at most every 30 seconds.
let lastVerify = 0, verifyTimer = null;
function verifySoon() {
  if (verifyTimer) return;
  const wait = Math.max(0, lastVerify + 30000 - Date.now());
  verifyTimer = setTimeout(() => { verifyTimer = null; verifyBadge(); }, wait);
}

// The board: each workflow's diagram, with the number of items in each workstation.
async function board() {
  const { workflows } = await api("GET", "/api/workflows");
  if (!workflows.length) return h("p", {}, "No workflow is loaded.");
  return h("div", {}, h("h1", {}, "Board"),
    workflows.map((w) => h("section", { class: "card", "data-workflow": w.name },
      h("h2", {}, `${w.name} v${w.version}`, " ",
        h("a", { href: `#/items?workflow=${encodeURIComponent(w.name)}` }, "items"), " · ",
        h("a", { href: `#/flow?workflow=${encodeURIComponent(w.name)}` }, "flow")),
      w.description ? h("p", { class: "muted" }, w.description) : null,
      diagram(w))));
}

// Workstations in columns by their distance from the initial one, transitions as arrows.
function diagram(w) {
  const names = w.workstations.map((x) => x.name);
  const depth = new Map();
  const initial = w.workstations.find((x) => x.initial) || w.workstations[0];
  depth.set(initial.name, 0);
  const queue = [initial.name];
  while (queue.length) {
    const at = queue.shift();
    for (const t of w.transitions) {
      if (t.from.includes(at) && !depth.has(t.to)) { depth.set(t.to, depth.get(at) + 1); queue.push(t.to); }
    }
  }
  let maxDepth = Math.max(0, ...depth.values());
  for (const n of names) if (!depth.has(n)) depth.set(n, ++maxDepth);
  const columns = [];
  for (const n of names) (columns[depth.get(n)] ||= []).push(n);
  const W = 128, H = 52, GX = 40, GY = 22, PAD = 10;
  const pos = new Map();
  columns.forEach((col, c) => col.forEach((n, r) => pos.set(n, { x: PAD + c * (W + GX), y: PAD + r * (H + GY) })));
  const width = PAD * 2 + columns.length * (W + GX) - GX;
  const height = PAD * 2 + Math.max(...columns.map((c) => c.length)) * (H + GY) - GY;
  const svg = s("svg", { width, height, viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": `${w.name} diagram` },
    s("defs", {}, s("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" },
      s("path", { d: "M0,0 L10,5 L0,10 z", fill: "#98a2b3" }))));
  for (const t of w.transitions) {
    for (const f of t.from) {
      const a = pos.get(f), b = pos.get(t.to);
      if (!a || !b) continue;
      let d;
      if (a.x < b.x) d = `M${a.x + W},${a.y + H / 2} C${a.x + W + GX / 2},${a.y + H / 2} ${b.x - GX / 2},${b.y + H / 2} ${b.x},${b.y + H / 2}`;
      else if (a.x > b.x) d = `M${a.x + W / 2},${a.y + H} C${a.x + W / 2},${a.y + H + 40} ${b.x + W / 2},${b.y + H + 40} ${b.x + W / 2},${b.y + H}`;
      else d = `M${a.x + W},${a.y + H / 2} C${a.x + W + 30},${a.y + H / 2} ${b.x + W + 30},${b.y + H / 2} ${b.x + W},${b.y + H / 2}`;
      svg.append(s("path", { d, class: "edge" + (t.rework ? " rework" : "") }, s("title", {}, `${t.name}: ${f} → ${t.to}`)));
    }
  }
  for (const x of w.workstations) {
    const p = pos.get(x.name);
    const link = `#/items?workflow=${encodeURIComponent(w.name)}&workstation=${encodeURIComponent(x.name)}`;
    const g = s("g", {
      class: "station" + (x.terminal ? " terminal" : "") + (x.initial ? " initial" : ""),
      "data-station": x.name, transform: `translate(${p.x},${p.y})`,
      onclick: () => { location.hash = link; },
    },
    s("rect", { width: W, height: H, rx: 8 }),
    s("text", { x: 10, y: 20 }, x.name.length > 17 ? x.name.slice(0, 16) + "…" : x.name),
    s("text", { x: 10, y: 40, class: "count", "data-count": x.name }, String(x.count)),
    s("text", { x: 44, y: 40, class: "muted" }, x.terminal ? (x.outcome || "done") : (x.sla_seconds ? `sla ${human(x.sla_seconds)}` : "")),
    s("title", {}, x.description || x.name));
    svg.append(g);
  }
  return svg;
}

// Items by workflow, workstation, derived state and time window.
async function items(params) {
  const { workflows } = await api("GET", "/api/workflows");
  const q = new URLSearchParams();
  for (const key of ["workflow", "workstation", "updated", "created", "held"]) {
    if (params.get(key)) q.set(key, params.get(key));
  }
  const states = params.getAll("state").flatMap((x) => x.split(",")).filter(Boolean);
  for (const st of states) q.append("state", st);
  q.set("offset", offsetMinutes());
  const data = await api("GET", "/api/items?" + q.toString());

  const change = (key, value) => {
    const next = new URLSearchParams(params);
    if (value) next.set(key, value); else next.delete(key);
    if (key === "workflow") next.delete("workstation");
    go("/items", next);
  };
  const names = [...new Set(workflows.map((w) => w.name))];
  const chosen = workflows.filter((w) => !params.get("workflow") || w.name === params.get("workflow"));
  const stations = [...new Set(chosen.flatMap((w) => w.workstations.map((x) => x.name)))];
  const select = (id, key, values, label) => h("label", {}, label + " ",
    h("select", { id, onchange: (e) => change(key, e.target.value) },
      values.map((v) => h("option", { value: v, selected: (params.get(key) || "") === v }, v || "any"))));
  const chips = h("span", { id: "states" }, STATES.map((st) => h("label", { class: "chip" },
    h("input", {
      type: "checkbox", value: st, checked: states.includes(st), "data-state": st,
      onchange: (e) => {
        const next = new URLSearchParams(params);
        next.delete("state");
        const on = new Set(states);
        if (e.target.checked) on.add(st); else on.delete(st);
        for (const x of STATES) if (on.has(x)) next.append("state", x);
        go("/items", next);
      },
    }), st)));
  const filters = h("div", { class: "card filters" },
    select("f-workflow", "workflow", ["", ...names], "workflow"),
    select("f-workstation", "workstation", ["", ...stations], "workstation"),
    h("span", {}, h("label", {}, "state "), chips),
    select("f-updated", "updated", WINDOWS, "changed in"),
    select("f-created", "created", WINDOWS, "created in"));
  const rows = data.items.map((it) => h("tr", {
    "data-id": it.id,
    class: it.states.includes("blocked") ? "blocked" : (it.states.includes("accepted") ? "accepted" : ""),
  },
  h("td", {}, h("a", { href: `#/item/${it.id}` }, `#${it.id}`)),
  h("td", {}, `${it.workflow} v${it.version}`),
  h("td", { class: "station" }, it.workstation),
  h("td", { class: "states" }, it.states.map((st) => badge(st))),
  h("td", {}, it.holds.join(", ")),
  h("td", {}, when(it.updated))));
  return h("div", {}, h("h1", {}, "Items"), filters,
    h("p", { id: "count" }, `${data.count} item(s)`),
    data.more ? h("p", { class: "muted", id: "more" }, "More items meet these filters than are listed; narrow them.") : null,
    h("div", { class: "card" }, h("table", { id: "items" },
      h("thead", {}, h("tr", {}, ["Item", "Workflow", "Workstation", "States", "Holds", "Changed"].map((t) => h("th", {}, t)))),
      h("tbody", {}, rows))));
}

function summary(event) {
  const c = event.change;
  switch (c.kind) {
    case "created": return `created in ${c.workstation}`;
    case "transitioned": return `${c.transition}: ${c.from} → ${c.to}${c.outcome ? " (" + c.outcome + ")" : ""}`;
    case "fields_updated": return `fields: ${Object.keys(c.patch || {}).join(", ")}`;
    case "held": return `hold ${c.hold}`;
    case "released": return `released ${c.hold}`;
    case "dependency_added": return `depends on #${c.on}`;
    case "dependency_removed": return `no longer depends on #${c.on}`;
    case "parent_set": return c.parent ? `parent #${c.parent}` : "no parent";
    case "migrated": return `migrated v${c.from_version} → v${c.to_version}: ${c.from_workstation} → ${c.to_workstation}`;
    default: return c.kind;
  }
}

// One item: where it is, every way out and what blocks it, holds, history, verification.
async function item(id) {
  const d = await api("GET", `/api/items/${encodeURIComponent(id)}`);
  const it = d.item;
  const canWrite = session.writes && session.actor;
  const act = async (method, path, body, done) => {
    try {
      await api(method, path, body);
      banner(done, null, true);
      render();
    } catch (e) { failed(e); }
  };
  const ways = d.ways_out.map((w) => h("tr", { "data-transition": w.transition },
    h("td", {}, w.transition), h("td", {}, "→ ", w.to),
    h("td", {}, badge(w.verdict)),
    h("td", {}, w.reasons.length ? h("ul", { class: "reasons" }, w.reasons.map((r) => h("li", { "data-reason": r.id },
      h("code", {}, r.id), " ", r.message, r.items.length ? ` (items ${r.items.map((x) => "#" + x).join(", ")})` : ""))) : "",
    w.warnings.map((x) => h("div", { class: "muted" }, "warning: " + x))),
    h("td", {}, canWrite ? h("button", {
      type: "button", class: "advance", "data-advance": w.transition,
      onclick: () => act("POST", `/api/items/${it.id}/advance`, { transition: w.transition, from: it.workstation }, `#${it.id}: ${w.transition} done`),
    }, w.transition) : "")));
  const holds = Object.entries(it.holds || {});
  const workflowHolds = (await api("GET", "/api/workflows")).workflows
    .filter((w) => w.name === it.workflow && w.version === it.version).flatMap((w) => w.holds);
  let holdForm = null;
  if (canWrite && workflowHolds.length) {
    const kind = h("select", { id: "hold-kind" }, workflowHolds.map((k) => h("option", { value: k }, k)));
    const reason = h("input", { id: "hold-reason", placeholder: "reason", required: true });
    holdForm = h("form", {
      class: "filters", onsubmit: (e) => {
        e.preventDefault();
        act("POST", `/api/items/${it.id}/holds`, { hold: kind.value, reason: reason.value }, `#${it.id}: on hold`);
      },
    }, kind, reason, h("button", { type: "submit" }, "Put on hold"));
  }
  const verified = d.verified.ok
    ? badge(`chain verified (${d.verified.events} events)`, "ok")
    : h("span", {}, badge("chain does not verify", "bad"), h("pre", {}, d.verified.problems));
  return h("div", { id: "item", "data-id": it.id },
    h("h1", {}, `#${it.id} `, h("span", { class: "muted" }, `${it.workflow} v${it.version}`)),
    h("div", { class: "card" },
      h("p", {}, "In ", h("strong", { id: "workstation" }, it.workstation), ` since ${when(it.entered)}`,
        it.outcome ? ` — outcome ${it.outcome}` : ""),
      h("p", { id: "item-states" }, d.states.map((st) => badge(st)), " ", h("span", { id: "verified" }, verified)),
      it.parent ? h("p", {}, "Part of ", h("a", { href: `#/item/${it.parent}` }, `#${it.parent}`)) : null,
      it.deps && it.deps.length ? h("p", {}, "Depends on ", it.deps.map((x) => h("a", { href: `#/item/${x}` }, `#${x} `))) : null,
      d.signals.blocked.length ? h("div", {}, h("strong", {}, "Blocked by"), h("ul", { class: "reasons", id: "blocked-by" },
        d.signals.blocked.map((r) => h("li", { "data-reason": r.id }, h("code", {}, r.id), " ", r.message)))) : null),
    h("h2", {}, "Ways out ", h("span", { class: "muted" }, d.actor.inspector
      ? `(for an inspector with every role: ${d.actor.roles.join(", ") || "none"})`
      : `(for ${d.actor.id}: ${d.actor.roles.join(", ")})`)),
    h("div", { class: "card" }, d.ways_out.length
      ? h("table", { id: "ways" }, h("thead", {}, h("tr", {}, ["Transition", "To", "", "What blocks it", ""].map((t) => h("th", {}, t)))), h("tbody", {}, ways))
      : h("p", {}, "None: a terminal workstation.")),
    h("h2", {}, "Holds"),
    h("div", { class: "card", id: "holds" },
      holds.length ? h("ul", {}, holds.map(([k, v]) => h("li", { "data-hold": k }, h("strong", {}, k), ` by ${v.by} since ${when(v.since)}`,
        v.reason ? `: ${v.reason}` : "", " ",
        canWrite ? h("button", { type: "button", class: "quiet", onclick: () => act("DELETE", `/api/items/${it.id}/holds/${encodeURIComponent(k)}`, undefined, `#${it.id}: ${k} released`) }, "Release") : "")))
        : h("p", { class: "muted" }, "None."),
      holdForm),
    h("h2", {}, "Fields"),
    h("div", { class: "card" }, h("pre", { id: "fields" }, JSON.stringify(it.fields, null, 2))),
    h("h2", {}, "History"),
    h("div", { class: "card" }, h("table", { id: "history" },
      h("thead", {}, h("tr", {}, ["Seq", "At", "Actor", "Change", "Hash"].map((t) => h("th", {}, t)))),
      h("tbody", {}, d.history.map((e) => h("tr", {},
        h("td", {}, e.seq), h("td", {}, when(e.at)), h("td", {}, e.actor),
        h("td", {}, summary(e), e.reason ? h("div", { class: "muted" }, e.reason) : null),
        h("td", { class: "hash", title: e.hash }, String(e.hash).replace(/^sha256:/, "").slice(0, 12))))))));
}

// Flow: lead-time distribution, time per workstation, throughput, cumulative flow.
async function flow(params) {
  const { workflows } = await api("GET", "/api/workflows");
  const names = [...new Set(workflows.map((w) => w.name))];
  const workflow = params.get("workflow") || names[0] || "";
  const windowName = params.get("window") || "30d";
  const period = params.get("period") || "1d";
  const q = new URLSearchParams({ window: windowName, period, offset: offsetMinutes() });
  if (workflow) q.set("workflow", workflow);
  const d = await api("GET", "/api/flow?" + q.toString());
  const r = d.report;
  const change = (key, value) => { const next = new URLSearchParams(params); next.set(key, value); go("/flow", next); };
  const select = (id, key, values, current, label) => h("label", {}, label + " ",
    h("select", { id, onchange: (e) => change(key, e.target.value) }, values.map((v) => h("option", { value: v, selected: v === current }, v))));
  const stat = (label, value) => h("tr", {}, h("th", {}, label), h("td", {}, value));
  const pct = (v) => (v === null || v === undefined ? "—" : (v * 100).toFixed(1) + "%");
  const lead = r.lead_time ? `median ${human(r.lead_time.median)}, p90 ${human(r.lead_time.p90)} (${r.lead_time.count} items)` : "—";
  return h("div", {}, h("h1", {}, "Flow"),
    h("div", { class: "card filters" },
      select("flow-workflow", "workflow", names, workflow, "workflow"),
      select("flow-window", "window", WINDOWS.filter(Boolean), windowName, "window"),
      select("flow-period", "period", ["1h", "6h", "1d", "7d"], period, "period")),
    h("div", { class: "card" }, h("table", { id: "flow-summary" },
      stat("arrivals", r.arrivals), stat("throughput (done)", r.throughput), stat("lead time", lead),
      stat("flow efficiency", pct(r.flow_efficiency)), stat("SLO compliance", pct(r.slo_compliance)),
      stat("open at the end", r.wip_at_end))),
    h("h2", {}, "Lead-time distribution"), h("div", { class: "card", id: "chart-lead" }, histogram(d.lead_time_seconds)),
    h("h2", {}, "Time per workstation (median, completed items)"), h("div", { class: "card", id: "chart-stations" }, perStation(r.per_workstation)),
    h("h2", {}, "Throughput per period"), h("div", { class: "card", id: "chart-throughput" }, bars(d.periods, d.throughput)),
    h("h2", {}, "Cumulative flow"), h("div", { class: "card", id: "chart-cfd" }, d.cfd ? cfd(d.periods, d.cfd) : h("p", { class: "muted" }, "Choose a workflow.")));
}

function empty(text) { return h("p", { class: "muted" }, text || "Nothing in this window."); }

function histogram(values) {
  if (!values.length) return empty();
  const n = Math.min(12, Math.max(3, Math.ceil(Math.sqrt(values.length))));
  const lo = values[0], hi = values[values.length - 1];
  const step = Math.max(1, (hi - lo) / n);
  const counts = new Array(n).fill(0);
  for (const v of values) counts[Math.min(n - 1, Math.floor((v - lo) / step))]++;
  const labels = counts.map((_, i) => human(lo + i * step));
  return barChart(labels, counts, "items");
}

function perStation(per) {
  const entries = Object.entries(per || {});
  if (!entries.length) return empty();
  const max = Math.max(...entries.map(([, v]) => v.median), 1);
  const width = 640, rowH = 24, left = 170;
  const svg = s("svg", { width, height: entries.length * rowH + 10, role: "img", "aria-label": "time per workstation" });
  entries.forEach(([name, v], i) => {
    const w = ((width - left - 90) * v.median) / max;
    svg.append(s("text", { x: 0, y: i * rowH + 16 }, name),
      s("rect", { class: "bar", x: left, y: i * rowH + 4, width: Math.max(1, w), height: 16, rx: 3 }, s("title", {}, `${name}: median ${human(v.median)}, mean ${human(v.mean)}, p90 ${human(v.p90)}`)),
      s("text", { x: left + w + 6, y: i * rowH + 16 }, human(v.median)));
  });
  return svg;
}

function bars(periods, counts) {
  if (!counts.some((c) => c > 0)) return empty();
  return barChart(periods.map((p) => when(p).slice(5, 16)), counts, "done");
}

function barChart(labels, counts, unit) {
  const width = Math.max(320, Math.min(900, labels.length * 28)), height = 180, bottom = 30, top = 16;
  const max = Math.max(...counts, 1);
  const bw = width / labels.length;
  const svg = s("svg", { width, height, role: "img" });
  svg.append(s("line", { class: "axis", x1: 0, y1: height - bottom, x2: width, y2: height - bottom }));
  counts.forEach((c, i) => {
    const bh = ((height - bottom - top) * c) / max;
    svg.append(s("rect", { class: "bar", x: i * bw + 2, y: height - bottom - bh, width: Math.max(1, bw - 4), height: bh },
      s("title", {}, `${labels[i]}: ${c} ${unit}`)));
    if (c) svg.append(s("text", { x: i * bw + bw / 2, y: height - bottom - bh - 3, "text-anchor": "middle" }, c));
    if (labels.length <= 16 || i % Math.ceil(labels.length / 12) === 0) {
      svg.append(s("text", { x: i * bw + 2, y: height - 10 }, labels[i]));
    }
  });
  return svg;
}

// Stacked areas, the last workstation (usually the terminal ones) at the bottom.
function cfd(periods, bands) {
  if (!bands.length || !periods.length) return empty();
  const width = 760, height = 260, left = 36, bottom = 24;
  const n = periods.length;
  const totals = periods.map((_, k) => bands.reduce((a, b) => a + b.counts[k], 0));
  const max = Math.max(...totals, 1);
  const x = (k) => left + (n === 1 ? 0 : ((width - left - 10) * k) / (n - 1));
  const y = (v) => height - bottom - ((height - bottom - 10) * v) / max;
  const svg = s("svg", { width, height, role: "img", "aria-label": "cumulative flow" });
  const order = [...bands].reverse();
  let below = new Array(n).fill(0);
  const legend = h("div", { class: "legend" });
  order.forEach((band, i) => {
    const above = below.map((v, k) => v + band.counts[k]);
    const top = above.map((v, k) => `${x(k)},${y(v)}`);
    const bot = below.map((v, k) => `${x(k)},${y(v)}`).reverse();
    const color = PALETTE[(bands.length - 1 - i) % PALETTE.length];
    svg.append(s("polygon", { points: [...top, ...bot].join(" "), fill: color, "fill-opacity": 0.75, "data-band": band.workstation },
      s("title", {}, band.workstation)));
    below = above;
  });
  // Swatches drawn as SVG: the page's policy allows no inline style.
  bands.forEach((band, i) => legend.append(h("span", {},
    s("svg", { width: 10, height: 10, class: "swatch" }, s("rect", { width: 10, height: 10, rx: 2, fill: PALETTE[i % PALETTE.length] })),
    band.workstation)));
  svg.append(s("line", { class: "axis", x1: left, y1: height - bottom, x2: width, y2: height - bottom }),
    s("text", { x: 0, y: 14 }, max), s("text", { x: 0, y: height - bottom }, 0),
    s("text", { x: left, y: height - 6 }, when(periods[0]).slice(0, 10)),
    s("text", { x: width - 80, y: height - 6 }, when(periods[n - 1]).slice(0, 10)));
  return h("div", {}, svg, legend);
}

// The ledger badge.
async function verifyBadge() {
  lastVerify = Date.now();
  const el = document.getElementById("ledger");
  try {
    const v = await api("GET", "/api/verify");
    el.textContent = v.ok ? `ledger verified: ${v.items} items, ${v.events} events` : "ledger does NOT verify";
    el.className = "badge " + (v.ok ? "ok" : "bad");
    el.title = v.ok ? "Every chain, every hash and every stored state checked" : v.problems;
  } catch (e) { el.textContent = "ledger: " + e.message; el.className = "badge bad"; }
}

// Sign-in: a token becomes an HttpOnly session cookie; writes carry its CSRF token.
function showSession() {
  const who = document.getElementById("who");
  const signedIn = Boolean(session.actor);
  who.textContent = signedIn ? `${session.actor.id} (${session.actor.roles.join(", ")})${session.writes ? "" : " · read-only server"}` : (session.writes ? "" : "read-only");
  document.getElementById("token").hidden = signedIn;
  document.getElementById("signin-button").hidden = signedIn;
  document.getElementById("signout").hidden = !signedIn;
}
async function loadSession() {
  const d = await api("GET", "/api/session");
  session.actor = d.actor; session.csrf = d.csrf; session.writes = d.writes;
  showSession();
}

// Live: the feed as Server-Sent Events; the browser resumes with Last-Event-ID.
function live() {
  const el = document.getElementById("live");
  const list = document.getElementById("events");
  const source = new EventSource("/api/feed");
  source.onopen = () => { el.textContent = "live"; el.className = "live on"; };
  source.onerror = () => { el.textContent = "reconnecting"; el.className = "live off"; };
  source.addEventListener("ledger", (message) => {
    let d;
    try { d = JSON.parse(message.data); } catch (_) { return; }
    const e = d.event;
    const li = h("li", { class: "new", "data-position": d.position, "data-item": e.item },
      h("a", { href: `#/item/${e.item}` }, `#${e.item}`), ` ${summary(e)} `, h("span", { class: "muted" }, `by ${e.actor}`));
    list.prepend(li);
    while (list.children.length > 50) list.lastChild.remove();
    refreshSoon();
  });
}

document.getElementById("signin").addEventListener("submit", async (e) => {
  e.preventDefault();
  const input = document.getElementById("token");
  try {
    const d = await api("POST", "/api/session", { token: input.value });
    input.value = "";
    session.actor = d.actor; session.csrf = d.csrf; session.writes = d.writes;
    showSession();
    banner(`Signed in as ${d.actor.id}`, null, true);
    render();
  } catch (err) { failed(err); }
});
document.getElementById("signout").addEventListener("click", async () => {
  try { await api("DELETE", "/api/session"); } catch (_) { /* signed out either way */ }
  session.actor = null; session.csrf = null;
  showSession();
  render();
});
// Anything the page's security policy blocks is a bug of this page: say so.
document.addEventListener("securitypolicyviolation", (e) => {
  document.body.dataset.violations = String(Number(document.body.dataset.violations || 0) + 1);
  banner(`The page's security policy blocked ${e.violatedDirective}: ${e.blockedURI || "inline"}`);
});
window.addEventListener("hashchange", () => { banner(null); render(); });

loadSession().catch(failed).finally(() => { render(); verifyBadge(); live(); });
