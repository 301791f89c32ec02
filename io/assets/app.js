// arb dashboard: polls the JSON API (opportunities 1 s, chart 1 s or history 10 s, venues (and the engine
// role's collectors) and engine 2 s),
// updates tables in place, draws the selected pair with uPlot. Recovers by itself when the
// server restarts (the next poll succeeds).
"use strict";
const $ = (s) => document.querySelector(s);
const state = { sortKey: "exec_spread", asc: false, rows: [], selected: null, chart: null,
                rate: [[], []], ok: false };
const fmt = (v, d = 3) => (v === null || v === undefined || Number.isNaN(v)) ? "–" : Number(v).toFixed(d);
const cls = (v) => (v > 0 ? "pos" : v < 0 ? "neg" : "");

async function api(path) {
  const r = await fetch(path, { cache: "no-store" });
  if (!r.ok) throw new Error(`${path}: ${r.status}`);
  return r.json();
}

function setConn(ok) {
  state.ok = ok;
  const el = $("#conn");
  el.textContent = ok ? "live" : "disconnected: retrying";
  el.className = "pill " + (ok ? "up" : "down");
}

async function pollOpps() {
  const p = new URLSearchParams({ limit: "64" });
  const sym = $("#f-symbol").value.trim(); if (sym) p.set("symbol", sym);
  const ven = $("#f-venue").value; if (ven) p.set("exchange", ven);
  const min = $("#f-min").value; if (min !== "") p.set("min_spread", min);
  try {
    const j = await api("/api/opportunities?" + p);
    state.rows = j.opportunities; setConn(true); renderOpps();
  } catch (e) {
    if (String(e).includes(": 4")) { state.rows = []; renderOpps(); } else setConn(false);
  }
}

function renderOpps() {
  const k = state.sortKey, dir = state.asc ? 1 : -1;
  const rows = [...state.rows].sort((a, b) => (a[k] > b[k] ? 1 : a[k] < b[k] ? -1 : 0) * dir);
  const body = $("#opps tbody");
  // Update in place: reuse rows, so hover and selection do not flicker.
  while (body.rows.length > rows.length) body.deleteRow(-1);
  rows.forEach((o, i) => {
    const tr = body.rows[i] || body.insertRow();
    const key = `${o.symbol}|${o.exchange1}|${o.exchange2}`;
    tr.dataset.key = key;
    tr.className = state.selected && state.selected.key === key ? "selected" : "";
    const cells = [o.symbol, o.buy, o.sell, fmt(o.exec_spread), fmt(o.deviation), fmt(o.leg_age_ms, 1)];
    cells.forEach((c, j) => {
      const td = tr.cells[j] || tr.insertCell();
      if (td.textContent !== String(c)) td.textContent = c;
      td.className = j >= 3 ? "num " + (j === 3 ? cls(o.exec_spread) : j === 4 ? cls(o.deviation) : "") : "";
    });
    tr.onclick = () => select(o);
  });
  $("#opps-empty").style.display = rows.length ? "none" : "";
  document.querySelectorAll("#opps th").forEach((th) => {
    th.classList.toggle("sorted", th.dataset.k === state.sortKey);
    th.classList.toggle("asc", th.dataset.k === state.sortKey && state.asc);
  });
}

function select(o) {
  state.selected = { key: `${o.symbol}|${o.exchange1}|${o.exchange2}`, symbol: o.symbol,
                     e1: o.exchange1, e2: o.exchange2 };
  $("#chart-title").textContent = `${o.symbol}  ${o.exchange1} / ${o.exchange2}`;
  if (state.chart) { state.chart.destroy(); state.chart = null; }
  renderOpps(); pollChart(true);
}

function isHistory() { return $("#chart-minutes").value === "history"; }

async function fetchChart(s) {
  const p = new URLSearchParams({ symbol: s.symbol, exchange1: s.e1, exchange2: s.e2 });
  if (isHistory()) {
    // The store's newest hour (NDJSON, one chart object).
    const r = await fetch("/api/history?" + p, { cache: "no-store" });
    const text = await r.text();
    if (!r.ok) throw new Error(JSON.parse(text).error || r.status);
    const w = JSON.parse(text.split("\n")[0]);
    return { w, data: [w.timestamps, w.spreads, w.upperBand, w.lowerBand], history: true };
  }
  p.set("minutes", $("#chart-minutes").value);
  const w = await api("/api/window?" + p);
  return { w, data: [w.timestamps, w.spreads, w.exec12, w.exec21, w.upperBand, w.lowerBand], history: false };
}

async function pollChart(force) {
  const s = state.selected; if (!s) return;
  // History changes slowly: refresh it every 10 s, live every second.
  if (isHistory() && !force && Date.now() - (state.lastHistory || 0) < 10000) return;
  try {
    const { w, data, history } = await fetchChart(s);
    state.signals = history ? [] : (w.signals || []);
    if (history) state.lastHistory = Date.now();
    $("#chart-note").textContent = `${w.timestamps.length} points ${history ? "from the store" : "live"}; deviation = (bid ${w.exchange1} / bid ${w.exchange2} − 1) · 100; bands 97 % / 3 % of the last 200${history ? "" : `; ${(w.signals || []).length} signals`}`;
    if (state.chart && state.chartHistory !== history) { state.chart.destroy(); state.chart = null; }
    if (!state.chart) {
      const el = $("#chart");
      const band = (label) => ({ label, stroke: "#8b949e", dash: [4, 4], width: 1 });
      const series = history
        ? [{}, { label: "deviation", stroke: "#58a6ff", width: 1.5 }, band("upper band"), band("lower band")]
        : [{}, { label: "deviation", stroke: "#58a6ff", width: 1.5 },
           { label: `buy ${w.exchange1} sell ${w.exchange2}`, stroke: "#3fb950", width: 1 },
           { label: `buy ${w.exchange2} sell ${w.exchange1}`, stroke: "#d29922", width: 1 },
           band("upper band"), band("lower band")];
      state.chartHistory = history;
      state.chart = new uPlot({
        width: el.clientWidth || 600, height: 320,
        scales: { x: { time: true } },
        // Signals: a green tick for an entry, grey for an exit, at the signal's deviation.
        hooks: { draw: [(u) => {
          const ctx = u.ctx;
          for (const sg of state.signals || []) {
            const x = u.valToPos(sg.ts, "x", true), y = u.valToPos(sg.deviation, "y", true);
            if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
            ctx.fillStyle = sg.kind === "Entry" ? "#3fb950" : "#8b949e";
            ctx.beginPath(); ctx.arc(x, y, 4 * devicePixelRatio, 0, 2 * Math.PI); ctx.fill();
          }
        }] },
        axes: [{ stroke: "#7d8794", grid: { stroke: "#262c35" } },
               { stroke: "#7d8794", grid: { stroke: "#262c35" }, label: "%" }],
        series,
      }, data, el);
    } else {
      state.chart.setData(data);
    }
  } catch (e) { $("#chart-note").textContent = String(e); }
}

async function pollVenues() {
  try {
    // An array; in the engine role {exchanges, collectors, nats}.
    const j = await api("/api/exchanges");
    const v = Array.isArray(j) ? j : (j.exchanges || []);
    renderCollectors(Array.isArray(j) ? null : j);
    const body = $("#venues tbody");
    while (body.rows.length > v.length) body.deleteRow(-1);
    v.forEach((x, i) => {
      const tr = body.rows[i] || body.insertRow();
      const cells = [x.exchange, x.state, fmt(x.messages_per_s, 0), fmt(x.last_message_age_ms, 1), x.reconnects, x.decode_errors];
      cells.forEach((c, j) => {
        const td = tr.cells[j] || tr.insertCell();
        td.textContent = c;
        td.className = j === 1 ? "state-" + x.state : j >= 2 ? "num" : "";
      });
    });
    const sel = $("#f-venue");
    if (sel.options.length === 1) v.forEach((x) => sel.add(new Option(x.exchange, x.id)));
  } catch (e) { /* the opportunities poll shows the connection state */ }
}

// The engine role's collectors (hidden when /api/exchanges has none).
function renderCollectors(j) {
  const panel = $("#collectors-panel");
  panel.hidden = !(j && j.collectors);
  document.body.classList.toggle("engine-role", !panel.hidden);
  if (panel.hidden) return;
  const n = j.nats;
  const pill = $("#nats");
  pill.textContent = n ? (n.connected ? "NATS connected" : "NATS disconnected") : "NATS –";
  pill.className = "pill " + (n && n.connected ? "up" : "down");
  pill.title = n ? `connects ${n.connects}, disconnects ${n.disconnects}, slow consumer ${n.slow_consumer}, errors ${n.errors}${n.last_error ? "; last: " + n.last_error : ""}` : "";
  const body = $("#collectors tbody");
  while (body.rows.length > j.collectors.length) body.deleteRow(-1);
  j.collectors.forEach((c, i) => {
    const tr = body.rows[i] || body.insertRow();
    const cells = [c.name, c.state, c.venues.join(", ") || "–", fmt(c.clock_offset_ms, 2), fmt(c.one_way_delay_ms, 2),
                   fmt(c.arrival_age_p99_ms, 1), c.lost_batches, c.stale_quotes, fmt(c.heartbeat_age_ms, 0)];
    cells.forEach((x, k) => {
      const td = tr.cells[k] || tr.insertCell();
      if (k === 1) {
        // The up/down badge.
        const b = td.firstElementChild || td.appendChild(document.createElement("span"));
        b.textContent = x; b.className = "pill " + (x === "up" ? "up" : "down");
      } else td.textContent = x;
      td.className = k >= 3 ? "num" : "";
    });
  });
}

async function pollEngine() {
  try {
    const h = await api("/api/health");
    const mib = (b) => (b / 1048576).toFixed(1) + " MiB";
    const drops = Object.entries(h.drops).map(([k, v]) => `${k} ${v}`).join(", ");
    $("#engine").innerHTML = "";
    for (const [k, v] of [["events/s", fmt(h.events_per_s, 0)], ["events", h.events],
                          ["memory reserved", mib(h.memory.reserved_bytes)], ["RSS", mib(h.memory.rss_bytes)],
                          ["feed ring depth max", h.max_feed_ring_depth], ["drops", drops || "0"],
                          ["uptime", fmt(h.uptime_s, 0) + " s"]]) {
      const a = document.createElement("span"); a.textContent = k;
      const b = document.createElement("span"); b.textContent = v;
      $("#engine").append(a, b);
    }
    $("#summary").textContent = `${fmt(h.events_per_s, 0)} events/s · RSS ${mib(h.memory.rss_bytes)}`;
    const now = Date.now() / 1000;
    state.rate[0].push(now); state.rate[1].push(h.events_per_s);
    if (state.rate[0].length > 300) { state.rate[0].shift(); state.rate[1].shift(); }
    if (!state.ratePlot) {
      state.ratePlot = new uPlot({ width: $("#rate-plot").clientWidth || 400, height: 110,
        scales: { x: { time: true } }, legend: { show: false },
        axes: [{ stroke: "#7d8794", grid: { show: false } }, { stroke: "#7d8794", grid: { stroke: "#262c35" } }],
        series: [{}, { label: "events/s", stroke: "#58a6ff", fill: "rgba(88,166,255,.1)" }] },
        state.rate, $("#rate-plot"));
    } else state.ratePlot.setData(state.rate);
    const body = $("#latency tbody");
    const us = (ns) => ns >= 1e6 ? (ns / 1e6).toFixed(2) + " ms" : (ns / 1e3).toFixed(1) + " µs";
    const stages = h.latency || [];
    while (body.rows.length > stages.length) body.deleteRow(-1);
    stages.forEach((s, i) => {
      const tr = body.rows[i] || body.insertRow();
      [s.stage, us(s.p50), us(s.p99), us(s.p999)].forEach((c, j) => {
        const td = tr.cells[j] || tr.insertCell(); td.textContent = c; td.className = j ? "num" : "";
      });
    });
  } catch (e) { /* shown by the opportunities poll */ }
}

document.querySelectorAll("#opps th").forEach((th) => th.addEventListener("click", () => {
  if (state.sortKey === th.dataset.k) state.asc = !state.asc; else { state.sortKey = th.dataset.k; state.asc = false; }
  renderOpps();
}));
for (const id of ["#f-symbol", "#f-venue", "#f-min"]) $(id).addEventListener("input", pollOpps);
$("#chart-minutes").addEventListener("change", () => pollChart(true));
// `#history` in the URL opens the chart on the store's history.
if (location.hash === "#history") $("#chart-minutes").value = "history";
window.addEventListener("resize", () => {
  if (state.chart) state.chart.setSize({ width: $("#chart").clientWidth, height: 320 });
});

pollOpps(); pollVenues(); pollEngine();
setInterval(pollOpps, 1000);
setInterval(pollChart, 1000);
setInterval(pollVenues, 2000);
setInterval(pollEngine, 2000);
// Select the top opportunity once there is one, so the page shows a chart by itself.
const autoPick = setInterval(() => {
  if (state.selected) return clearInterval(autoPick);
  if (state.rows.length) { select(state.rows[0]); clearInterval(autoPick); }
}, 500);
