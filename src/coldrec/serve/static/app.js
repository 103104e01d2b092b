// coldrec demo shop: plain JavaScript over the service's HTTP API (no framework).
"use strict";

const state = { shopper: null, variant: null, lastClicked: null, offset: 0, limit: 24,
                query: null, info: null, clicks: [] };
const $ = (sel) => document.querySelector(sel);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v; else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(c ?? ""));
  return node;
}

function headers(write) {
  const h = { "Content-Type": "application/json" };
  const key = sessionStorage.getItem("coldrec-key");
  if (write && key) h.Authorization = `Bearer ${key}`;
  return h;
}

async function api(path, options = {}) {
  const write = options.method && options.method !== "GET";
  const resp = await fetch(path, { ...options, headers: headers(write) });
  if (!resp.ok) {
    let detail = resp.statusText;
    try { detail = JSON.stringify((await resp.json()).detail); } catch (e) { /* not JSON */ }
    throw new Error(`${resp.status} ${detail}`);
  }
  return resp.json();
}

const enc = encodeURIComponent;

function card(item, { onClick, reason = true, fresh = false } = {}) {
  const meta = [item.category, item.price != null ? `$${item.price.toFixed(2)}` : null]
    .filter(Boolean).join(" · ");
  const node = el("div", { class: "card" + (fresh ? " fresh" : ""), "data-item": item.item_id },
    el("div", { class: "title" }, item.title || item.item_id),
    el("div", { class: "meta" }, meta));
  if (reason && item.reason) node.append(el("div", { class: "reason" }, item.reason));
  node.addEventListener("click", () => (onClick || clickItem)(item));
  return node;
}

function fill(target, items, opts = {}) {
  target.replaceChildren(...(items.length ? items.map((it) => card(it, opts))
    : [el("p", { class: "muted" }, opts.empty || "nothing yet")]));
}

// -- the shopper -------------------------------------------------------------------------
function setShopper(id) {
  state.shopper = id;
  state.lastClicked = null;
  state.clicks = [];
  localStorage.setItem("coldrec-shopper", id);
  $("#shopper-id").textContent = id;
  $("#clicks").replaceChildren();
  $("#similar").replaceChildren(el("p", { class: "muted" }, "Click a product to see similar ones."));
  $("#similar-to").textContent = "";
  refreshPanels();
}

async function log(events) {
  await api("/events", { method: "POST", body: JSON.stringify({ events }) });
}

async function clickItem(item) {
  const event = { user_id: state.shopper, item_id: item.item_id, event_type: "click" };
  if (state.variant) event.variant = state.variant;
  try { await log([event]); } catch (e) { toast(`click not recorded: ${e.message}`); return; }
  state.lastClicked = item;
  state.clicks.unshift(item.title || item.item_id);
  $("#clicks").replaceChildren(...state.clicks.slice(0, 8).map((t) => el("li", {}, t)));
  await refreshPanels();
}

async function refreshPanels() {
  const user = enc(state.shopper);
  const recs = await api(`/recommend/${user}?k=8`);
  state.variant = recs.variant;
  const badge = $("#shopper-variant");
  badge.hidden = !recs.variant;
  badge.textContent = recs.variant ? `variant ${recs.variant}` : "";
  fill($("#recs"), recs.items);
  let logged = Promise.resolve();
  if (recs.variant && recs.items.length) {  // what was shown, for the experiment report
    logged = log(recs.items.map((it) => ({ user_id: state.shopper, item_id: it.item_id,
      event_type: "impression", variant: recs.variant })))
      .catch((e) => toast(`impressions not recorded: ${e.message}`));
  }
  const arrivals = await api(`/recommend/${user}/new-arrivals?k=5`);
  fill($("#arrivals"), arrivals.items);
  if (state.lastClicked) {
    const sim = await api(`/items/${enc(state.lastClicked.item_id)}/similar?k=5`);
    $("#similar-to").textContent = `to ${state.lastClicked.title || state.lastClicked.item_id}`;
    fill($("#similar"), sim.items);
  }
  await logged;
  $("#recs").dataset.version = String(Date.now());  // lets tests wait for a redraw
}

// -- browsing and search -----------------------------------------------------------------
async function loadCatalog() {
  const cat = $("#category").value;
  const params = new URLSearchParams({ offset: state.offset, limit: state.limit });
  if (cat) params.set("category", cat);
  const page = await api(`/items?${params}`);
  state.query = null;
  $("#catalog-title").textContent = cat ? `Catalogue — ${cat}` : "Catalogue (newest first)";
  fill($("#catalog"), page.items, { reason: false });
  const last = Math.min(page.total, state.offset + page.items.length);
  $("#page-info").textContent = `${page.total ? state.offset + 1 : 0}–${last} of ${page.total}`;
  $("#prev").disabled = state.offset === 0;
  $("#next").disabled = last >= page.total;
}

async function search(query) {
  const res = await api(`/search?q=${enc(query)}&user_id=${enc(state.shopper)}&k=24`);
  state.query = query;
  $("#catalog-title").textContent = `Results for “${query}”`;
  fill($("#catalog"), res.items, { empty: "no matches" });
  $("#page-info").textContent = `${res.items.length} results`;
  $("#prev").disabled = true;
  $("#next").disabled = true;
}

// -- new shopper -------------------------------------------------------------------------
function openNewShopper() {
  const fields = $("#attribute-fields");
  fields.replaceChildren();
  for (const [name, values] of Object.entries(state.info.attributes)) {
    const select = el("select", { name, id: `attr-${name}` }, el("option", { value: "" }, "—"));
    for (const v of values) select.append(el("option", { value: v }, v));
    fields.append(el("label", { for: `attr-${name}` }, name.replaceAll("_", " ")), select);
  }
  if (!Object.keys(state.info.attributes).length) {
    fields.append(el("p", { class: "muted" }, "This shop keeps no profile fields."));
  }
  $("#new-shopper-dialog").showModal();
}

async function startNewShopper() {
  const attributes = {};
  for (const select of $("#attribute-fields").querySelectorAll("select")) {
    if (select.value) attributes[select.name] = select.value;
  }
  const id = `shopper-${Math.random().toString(36).slice(2, 8)}`;
  try {
    await api(`/users/${enc(id)}`, { method: "PUT", body: JSON.stringify({ attributes }) });
  } catch (e) { toast(`profile not saved: ${e.message}`); return; }
  setShopper(id);
}

// -- admin: a new product ----------------------------------------------------------------
async function addItem(ev) {
  ev.preventDefault();
  const body = { title: $("#item-title").value.trim() };
  for (const f of ["description", "category", "brand"]) {
    const v = $(`#item-${f}`).value.trim();
    if (v) body[f] = v;
  }
  const price = $("#item-price").value;
  if (price !== "") body.price = Number(price);
  const id = `new-${Date.now().toString(36)}`;
  const out = $("#item-result");
  try {
    const res = await api(`/items/${enc(id)}`, { method: "PUT", body: JSON.stringify(body) });
    const arrivals = await api(`/recommend/${enc(state.shopper)}/new-arrivals?k=10`);
    const rank = arrivals.items.findIndex((it) => it.item_id === id);
    out.replaceChildren(
      el("p", { id: "item-status" }, `Added ${id} — ${res.recommendable ? "recommendable now" :
        "recommendable after the next retrain"}.`),
      el("p", {}, rank >= 0
        ? `It is #${rank + 1} in shopper ${state.shopper}'s new arrivals:`
        : `Shopper ${state.shopper}'s new arrivals (it ranks lower for them):`));
    const list = el("div", { class: "list", id: "item-arrivals" });
    arrivals.items.forEach((it) => list.append(card(it, { fresh: it.item_id === id })));
    out.append(list);
    $("#item-form").reset();
    refreshPanels();
  } catch (e) { out.replaceChildren(el("p", { class: "error" }, `not added: ${e.message}`)); }
}

// -- metrics -----------------------------------------------------------------------------
function plotLongtail(svg, curve) {
  const W = 640, H = 320, L = 48, B = 36, T = 14, R = 14;
  const x = (v) => L + v * (W - L - R), y = (v) => H - B - v * (H - B - T);
  const path = (ys) => curve.x.map((v, i) => `${i ? "L" : "M"}${x(v).toFixed(1)},${y(ys[i]).toFixed(1)}`).join("");
  const ns = "http://www.w3.org/2000/svg";
  const add = (tag, attrs, text) => {
    const n = document.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v);
    if (text) n.textContent = text;
    svg.append(n); return n;
  };
  svg.replaceChildren();
  for (const t of [0, 0.25, 0.5, 0.75, 1]) {
    add("line", { x1: L, x2: W - R, y1: y(t), y2: y(t), stroke: "#eee" });
    add("text", { x: L - 6, y: y(t) + 4, "text-anchor": "end", "font-size": 11 }, `${t * 100}%`);
    add("text", { x: x(t), y: H - B + 16, "text-anchor": "middle", "font-size": 11 }, `${t * 100}%`);
  }
  add("text", { x: (L + W - R) / 2, y: H - 4, "text-anchor": "middle", "font-size": 12 },
      `products, most bought first (${curve.items.toLocaleString()})`);
  add("path", { d: `M${x(0)},${y(0)}L${x(1)},${y(1)}`, stroke: "#bbb", "stroke-dasharray": "4 4", fill: "none" });
  add("path", { d: path(curve.purchases), stroke: "#d9534f", "stroke-width": 2, fill: "none", id: "curve-purchases" });
  if (curve.served) {
    add("path", { d: path(curve.recommended), stroke: "#2f6fed", "stroke-width": 2, fill: "none", id: "curve-recommended" });
  }
  add("text", { x: L + 10, y: T + 14, fill: "#d9534f", "font-size": 12 }, "purchases");
  add("text", { x: L + 10, y: T + 30, fill: "#2f6fed", "font-size": 12 },
      curve.served ? `recommendations served (${curve.served.toLocaleString()})` : "no recommendations served yet");
}

function table(head, rows) {
  return el("table", {}, el("thead", {}, el("tr", {}, ...head.map((h) => el("th", {}, h)))),
    el("tbody", {}, ...rows.map((r) => el("tr", {}, ...r.map((c) => el("td", {}, c))))));
}

const fmt = (v, digits = 4) => (v == null || Number.isNaN(v) ? "–" : Number(v).toFixed(digits));
const pct = (v) => (v == null ? "–" : `${(100 * v).toFixed(2)}%`);

async function loadStats() {
  const s = await api("/stats");
  $("#stat-events").textContent = s.live.events;
  $("#stat-requests").textContent = s.live.requests;
  $("#stat-p50").textContent = fmt(s.live.latency_ms.p50, 1);
  $("#stat-p95").textContent = fmt(s.live.latency_ms.p95, 1);
  $("#stat-coverage").textContent = pct(s.longtail.coverage);
  $("#stat-tail").textContent = pct(s.longtail.tail_share);
  plotLongtail($("#longtail"), s.longtail);
  $("#footer").textContent = `model ${s.model} v${s.model_version} · ${s.items.toLocaleString()} products · ${s.users.toLocaleString()} shoppers`;
}

async function loadEvaluation() {
  const box = $("#evaluation");
  let rep;
  try { rep = await api("/evaluation"); } catch (e) {
    box.replaceChildren(el("p", { class: "muted" }, e.message.replace(/^404 /, "")));
    return;
  }
  const metrics = ["recall@10", "ndcg@10", "coverage@10", "tail_share@10", "avg_pop@10"];
  // recall and NDCG with their 95 % bootstrap interval over the test users, when saved
  const cell = (t, m) => (t.ci95?.[m]
    ? `${fmt(t.metrics[m])} (${fmt(t.ci95[m][0])}–${fmt(t.ci95[m][1])})` : fmt(t.metrics[m]));
  const rows = [];
  for (const r of rep.results) {
    const tasks = r.tasks || { [r.protocol]: r };
    for (const [name, t] of Object.entries(tasks)) {
      rows.push([`${r.model}${r.tasks ? ` (${name})` : ""}`, r.protocol,
                 ...metrics.map((m) => cell(t, m))]);
    }
  }
  const head = metrics.map((m) => (m.startsWith("recall") || m.startsWith("ndcg")
    ? `${m} (95% CI)` : m));
  box.replaceChildren(table(["model", "protocol", ...head], rows),
    el("p", { class: "muted" }, `${rep.results[0]?.dataset ?? ""} · ${rep.created} · ${rep.command}`));
}

async function loadExperiment() {
  const box = $("#experiment");
  let rep;
  try { rep = await api("/experiment/report"); } catch (e) {
    box.replaceChildren(el("p", { class: "muted" }, "No experiment is running."));
    return;
  }
  const ci = (v, c) => `${pct(v)} (${pct(c[0])}–${pct(c[1])})`;
  box.replaceChildren(
    table(["variant", "shoppers", "impressions", "clicks", "purchases", "CTR (95% CI)",
           "conversion (95% CI)", "revenue / shopper"],
          rep.variants.map((v) => [v.name, v.users, v.impressions, v.clicks, v.purchases,
            ci(v.ctr, v.ctr_ci), ci(v.conversion, v.conversion_ci), fmt(v.revenue_per_user, 2)])),
    el("p", { id: "experiment-decision" }, `${rep.experiment}: ${rep.decision}`));
}

async function loadMetrics() {
  await Promise.all([loadStats(), loadEvaluation(), loadExperiment()]);
}

// -- wiring ------------------------------------------------------------------------------
function toast(message) { $("#footer").textContent = message; }

function showTab(name) {
  for (const b of document.querySelectorAll(".tab")) b.classList.toggle("active", b.dataset.tab === name);
  for (const v of document.querySelectorAll(".view")) v.hidden = v.id !== `view-${name}`;
  if (name === "metrics") loadMetrics();
}

async function main() {
  state.info = await api("/shop");
  for (const c of state.info.categories) $("#category").append(el("option", { value: c }, c));
  for (const b of document.querySelectorAll(".tab")) b.addEventListener("click", () => showTab(b.dataset.tab));
  $("#new-shopper").addEventListener("click", openNewShopper);
  $("#new-shopper-start").addEventListener("click", (ev) => { ev.preventDefault();
    $("#new-shopper-dialog").close(); startNewShopper(); });
  $("#shopper-go").addEventListener("click", () => {
    const id = $("#shopper-input").value.trim(); if (id) setShopper(id); });
  $("#search-form").addEventListener("submit", (ev) => { ev.preventDefault();
    const q = $("#search").value.trim(); if (q) search(q); else loadCatalog(); });
  $("#category").addEventListener("change", () => { state.offset = 0; loadCatalog(); });
  $("#prev").addEventListener("click", () => { state.offset = Math.max(0, state.offset - state.limit); loadCatalog(); });
  $("#next").addEventListener("click", () => { state.offset += state.limit; loadCatalog(); });
  $("#item-form").addEventListener("submit", addItem);
  const key = $("#api-key");
  key.value = sessionStorage.getItem("coldrec-key") || "";
  key.addEventListener("change", () => sessionStorage.setItem("coldrec-key", key.value));
  setInterval(() => { if (!$("#view-metrics").hidden) loadStats(); }, 3000);
  await loadCatalog();
  setShopper(localStorage.getItem("coldrec-shopper") || `shopper-${Math.random().toString(36).slice(2, 8)}`);
  document.body.dataset.ready = "1";
}

main().catch((e) => toast(`could not load the shop: ${e.message}`));
