/* hubindex dashboard: plain JS, no build step, nothing fetched from outside this server.
 * Pages are hash routes (#/ranking?..., #/city/CODE?peer=..., #/map, #/compare?units=A,B, #/weights?w=..,
 * #/methodology); every control writes its state into the URL so any view is a permalink. */
"use strict";

let D = null;              // /api/bootstrap payload
const IX = {};             // derived lookups
const RANK_DECIMALS = 1e10;

// ---------------------------------------------------------------------------------------------- utils
function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (k === "html") e.innerHTML = v;
    else e.setAttribute(k, v === true ? "" : v);
  }
  for (const c of kids.flat(Infinity)) if (c !== null && c !== undefined && c !== false) e.append(c instanceof Node ? c : String(c));
  return e;
}
const fmt = (x, nd = 1) => (x === null || x === undefined || Number.isNaN(x)) ? "–" : Number(x).toFixed(nd).replace(/^-(0(\.0+)?)$/, "$1");  // no "-0.0"
/** Plotly's config: no logo; on a phone no mode bar (it covers the chart's top labels; tables have downloads). */
const plotConfig = (extra = {}) => Object.assign({ displaylogo: false, responsive: true }, window.matchMedia("(max-width: 600px)").matches ? { displayModeBar: false } : {}, extra);
const fmtRaw = (x) => (x === null || x === undefined) ? "–" : (Math.abs(x) >= 1000 ? Number(x).toLocaleString("en", {maximumFractionDigits: 0}) : Number(x).toPrecision(4).replace(/\.?0+$/, ""));
const nodeName = (c) => (IX.node[c] && IX.node[c].name) || c;
/** The citation for readers, without the spec hash that the footer's "Details" line already gives
 *  ("… Built with hubindex 0.1.0, spec 8a8a14cf255c." → "… Built with hubindex 0.1.0."). */
const citeText = (c) => (c && D.meta.spec_hash) ? String(c).replace(new RegExp(`,?\\s*spec ${D.meta.spec_hash.slice(0, 12)}[0-9a-f]*`), "") : c;
const GROUP_LABEL = { country: "Country", region: "Region", cn_region: "Region of China" };
/** A group column's name for readers ("cn_region" → "Region of China", "EurAsia_group" → "EurAsia group"). */
const groupLabel = (g) => GROUP_LABEL[g] || (g.charAt(0).toUpperCase() + g.slice(1)).replace(/_/g, " ");
/** A group's value for readers: a lower-case code word gets a capital ("eastern" → "Eastern"); names stay as given. */
const groupValue = (v) => (typeof v === "string" && /^[a-z][a-z0-9_ ]*$/.test(v)) ? (v.charAt(0).toUpperCase() + v.slice(1)).replace(/_/g, " ") : v;
/** Narrow (phone) screen: charts get horizontal, wrapped category labels. */
const isNarrow = () => window.matchMedia("(max-width: 600px)").matches;
/** A chart label on two lines, broken at the space nearest its middle ("Fintech Industry" → "Fintech<br>Industry"). */
function wrapLabel(s) {
  const t = String(s);
  if (t.length <= 10) return t;
  let best = -1;
  for (let i = t.indexOf(" "); i >= 0; i = t.indexOf(" ", i + 1)) if (best < 0 || Math.abs(i - t.length / 2) < Math.abs(best - t.length / 2)) best = i;
  return best < 0 ? t : `${t.slice(0, best)}<br>${t.slice(best + 1)}`;
}
/** An outlier-treatment flag in words. */
const TREAT_TEXT = { winhi: "value capped at the outlier limit", winlo: "value raised to the lower outlier limit", log_CT: "log-transformed (skewed indicator)", boxcox: "Box–Cox transformed (skewed indicator)" };
const treatText = (f) => TREAT_TEXT[f] || f;
/** Search key: lower case, accents and punctuation removed ("São Paulo" → "saopaulo"). */
const fold = (s) => String(s ?? "").normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase().replace(/[^a-z0-9]+/g, "");
/** A table inside a box that scrolls sideways on a narrow screen (the page itself never does). */
const wrap = (t) => el("div", { class: "table-wrap" }, t);

/* Plotly (4.8 MB) is loaded only on pages that draw a chart, and only once their table is on screen: the first
 * call inserts <script src="/vendor/plotly.min.js">; every chart waits for it. A chart whose page was left
 * meanwhile (its div no longer in the document) is not drawn. */
let PLOTLY = null;
function loadPlotly() {
  if (window.Plotly) return Promise.resolve(window.Plotly);
  if (!PLOTLY) PLOTLY = new Promise((resolve, reject) => {
    const sc = document.createElement("script");
    sc.src = "/vendor/plotly.min.js"; sc.async = true;
    sc.addEventListener("load", () => resolve(window.Plotly));
    sc.addEventListener("error", () => { PLOTLY = null; reject(new Error("the chart library could not be loaded")); });
    document.head.append(sc);
  });
  return PLOTLY;
}
function withPlotly(div, draw) {
  requestAnimationFrame(() => loadPlotly().then(() => { if (div.isConnected) draw(); })
    .catch((e) => { if (div.isConnected) div.replaceChildren(el("p", { class: "muted" }, `Chart unavailable: ${e.message}. The table and text give the same numbers.`)); }));
}
const unitName = (u) => (IX.unit[u] && IX.unit[u].name) || u;

function parseHash() {
  const h = location.hash.replace(/^#\/?/, "");
  const [path, q] = h.split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  return { page: parts[0] || "ranking", arg: parts[1] || null, params: new URLSearchParams(q || "") };
}
function setHash(page, arg, params, replace = true) {
  const q = params.toString().replace(/%3A/gi, ":").replace(/%2C/gi, ",");
  const h = "#/" + page + (arg ? "/" + encodeURIComponent(arg) : "") + (q ? "?" + q : "");
  if (replace) history.replaceState(null, "", h); else location.hash = h;
}
function updateParam(key, value) {
  const r = parseHash();
  if (value === null || value === "" || value === undefined) r.params.delete(key); else r.params.set(key, value);
  setHash(r.page, r.arg, r.params);
}

function heat(v) {  // score 0..100 → light blue scale (colour-blind safe single hue)
  if (v === null || v === undefined) return "";
  const t = Math.max(0, Math.min(1, v / 100));
  const l = 96 - 40 * t;
  return `background:hsl(212,70%,${l}%);` + (l < 65 ? "color:#fff;" : "");
}

// downloads: CSV carries citation/licence as leading '#' lines (read with pandas.read_csv(comment='#'))
function toCSV(rows, cols) {
  const esc = (v) => { if (v === null || v === undefined) return ""; const s = String(v); return /[",\n]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s; };
  // header row first: spreadsheet programs show lines above it as junk rows; the citation, licence and view
  // link travel in the JSON and XLSX downloads (About sheet) and in the page's own citation line
  return [cols.map((c) => esc(colLabel(c))).join(",")].concat(rows.map((r) => cols.map((c) => esc(r[c])).join(","))).join("\n") + "\n";
}
/** Column header in a CSV/XLSX download: pillar and group columns get their names, with the code kept in
 *  brackets for programs ("Fintech Industry [IND]", "Rank in Region of China [rank_in_cn_region]"); other
 *  columns keep their machine names (documented in the README). JSON downloads keep the codes. */
function colLabel(c) {
  if (D.pillars.includes(c)) return `${nodeName(c)} [${c}]`;
  if (c.startsWith("rank_in_")) return `Rank in ${groupLabel(c.slice(8))} [${c}]`;
  return c;
}
function saveBlob(text, name, type) {
  const a = el("a", { href: URL.createObjectURL(new Blob([text], { type })), download: name });
  document.body.append(a); a.click(); a.remove();
}
async function saveXlsx(name, rows, cols) {
  const res = await fetch("/api/export", { method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ name, format: "xlsx", columns: cols.map(colLabel), rows: rows.map((r) => Object.fromEntries(cols.map((c) => [colLabel(c), r[c] ?? null]))), view: location.href }) });
  if (!res.ok) { const js = await res.json().catch(() => ({})); alert(`Download failed: ${js.detail || res.status}`); return; }
  const a = el("a", { href: URL.createObjectURL(await res.blob()), download: name + ".xlsx" });
  document.body.append(a); a.click(); a.remove();
}
/** CSV / XLSX / JSON buttons for a table: rows() and cols() are read at click time (the table as shown). */
/** What a value is: the city's own figure, a national (or urban, or income-group) figure standing in for the
 *  city, or a modelled value (a national survey figure spread over the country's cities by a city covariate,
 *  see the methodology). Shipped provenance has ``value_level``; older or user data only ``scope``. */
const LEVEL_TEXT = { city: "city figure", "country proxy": "country figure used for the city", "urban proxy": "urban-population figure of the country used for the city", modelled: "modelled: a national figure spread over the country's cities by a city-level covariate (see Methodology)", "income-group proxy": "income-group average used for the city (the country was not surveyed)", country: "country figure used for the city" };
const levelOf = (pv) => (pv && (pv.value_level || pv.scope)) || null;
function levelFlag(pv) {
  const lv = levelOf(pv);
  if (!lv) return null;
  const short = { city: "city", "country proxy": "country", country: "country", "urban proxy": "urban", modelled: "modelled", "income-group proxy": "income group" }[lv] || lv;
  const cls = lv === "city" ? "flag flag-city" : (lv === "modelled" ? "flag flag-modelled" : "flag flag-country");
  return el("span", { class: cls, "data-level": lv, title: LEVEL_TEXT[lv] || lv }, short);
}
function downloadBar(name, getRows, cols) {
  return el("div", { class: "downloads", "data-table": name, role: "group", "aria-label": `Download ${name.replace(/_/g, " ")}` }, "Download this table: ",
    el("button", { type: "button", "data-fmt": "csv", onclick: () => saveBlob(toCSV(getRows(), cols()), name + ".csv", "text/csv") }, "CSV"),
    el("button", { type: "button", "data-fmt": "xlsx", onclick: () => saveXlsx(name, getRows(), cols()) }, "XLSX"),
    el("button", { type: "button", "data-fmt": "json", onclick: () => saveBlob(JSON.stringify({ citation: D.meta.citation, licence: D.meta.licence, spec_hash: D.meta.spec_hash, view: location.href, rows: getRows() }, null, 1), name + ".json", "application/json") }, "JSON"));
}
const fmtChange = (c) => (c === null || c === undefined) ? el("span", { class: "muted", title: "new in this edition" }, "new") : (c === 0 ? el("span", { class: "muted" }, "=") : el("span", { class: c > 0 ? "up" : "down" }, `${c > 0 ? "▲" : "▼"}${Math.abs(c)}`));
/** A rank interval as text plus a small bar on the 1..n scale (the dot is the published rank). */
function intervalCell(lo, hi, rank, n) {
  if (lo === null || lo === undefined) return "–";
  const L = Math.round(lo), H = Math.round(hi), x = (v) => (100 * (v - 1) / Math.max(1, n - 1)).toFixed(1);
  return el("span", { class: "ivl", title: `5–95 % rank interval over the Monte Carlo replications: ${L}–${H}` },
    el("span", { class: "ivl-txt" }, `${L}–${H}`),
    el("span", { class: "ivl-bar", "aria-hidden": "true" }, el("span", { class: "ivl-range", style: `left:${x(L)}%;width:${Math.max(1, x(H) - x(L))}%` }),
      rank ? el("span", { class: "ivl-dot", style: `left:${x(rank)}%` }) : null));
}

// ------------------------------------------------------------------------------------ the recompute engine
/* Mirrors hubindex.engine: every aggregate, in ascending level, is AGG(children; weights) over the children
 * available for that unit (weights renormalised); ranks r_i = 1 + #{j: s_j > s_i} on scores rounded to 10 dp. */
function prepareEngine() {
  const fw = D.framework;
  IX.codes = fw.map((n) => n.code);
  IX.pos = Object.fromEntries(IX.codes.map((c, i) => [c, i]));
  IX.aggOrder = fw.filter((n) => !n.is_indicator).sort((a, b) => a.level - b.level || IX.pos[a.code] - IX.pos[b.code]).map((n) => n.code);
  const nU = D.units.length;
  const cols = D.normalised.columns;
  IX.norm = {};
  cols.forEach((c, j) => {
    const a = new Float64Array(nU);
    for (let i = 0; i < nU; i++) { const v = D.normalised.data[i][j]; a[i] = v === null ? NaN : v; }
    IX.norm[c] = a;
  });
  IX.baseWeights = Object.fromEntries(fw.map((n) => [n.code, n.weight]));
  IX.published = Float64Array.from(D.units.map((u) => { const r = IX.rankOf(u.unit, D.index); return r === null ? NaN : r; }));
}

function aggMethod(level) { return D.aggregation.by_level[String(level)] || D.aggregation.method; }
const JS_METHODS = new Set(["arithmetic", "geometric", "harmonic", "median"]);
function canRecomputeInBrowser() { return D.framework.every((n) => n.is_indicator || JS_METHODS.has(aggMethod(n.level))); }

function aggregateNode(X, w, method, minAvail) {   // X: array of Float64Array (children), w: weights
  const n = X[0].length, k = X.length, out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let sw = 0, acc = 0, avail = 0;
    if (method === "median") {
      const pts = [];
      for (let j = 0; j < k; j++) { const x = X[j][i]; if (!Number.isNaN(x)) { avail++; pts.push([x, w[j]]); sw += w[j]; } }
      if (!avail || sw <= 0) { out[i] = NaN; continue; }
      pts.sort((a, b) => a[0] - b[0]);
      let c = 0, y = NaN;
      for (let m = 0; m < pts.length; m++) {
        c += pts[m][1] / sw;
        if (c >= 0.5 - 1e-12) {
          y = pts[m][0];
          if (Math.abs(c - 0.5) <= 1e-12) { const nxt = pts.slice(m + 1).find((p) => p[1] > 0); if (nxt) y = (y + nxt[0]) / 2; }
          break;
        }
      }
      out[i] = (minAvail !== null && avail / k < minAvail) ? NaN : y;
      continue;
    }
    for (let j = 0; j < k; j++) {
      const x = X[j][i];
      if (Number.isNaN(x)) continue;
      avail++; sw += w[j];
      if (method === "arithmetic") acc += w[j] * x;
      else if (method === "geometric") acc += w[j] * Math.log(x);
      else acc += w[j] / x;   // harmonic
    }
    let y;
    if (!avail || sw <= 0) y = NaN;
    else if (method === "arithmetic") y = acc / sw;
    else if (method === "geometric") y = Math.exp(acc / sw);
    else y = sw / acc;
    out[i] = (minAvail !== null && avail / k < minAvail) ? NaN : y;
  }
  return out;
}

function rankDesc(s) {   // min ties on rounded scores; NaN → null
  const n = s.length, r = new Array(n).fill(null);
  const idx = [];
  const rs = Array.from(s, (v) => Number.isNaN(v) ? NaN : Math.round(v * RANK_DECIMALS) / RANK_DECIMALS);
  for (let i = 0; i < n; i++) if (!Number.isNaN(rs[i])) idx.push(i);
  idx.sort((a, b) => rs[b] - rs[a]);
  for (let p = 0; p < idx.length; p++) r[idx[p]] = (p > 0 && rs[idx[p]] === rs[idx[p - 1]]) ? r[idx[p - 1]] : p + 1;
  return r;
}

/** Scores of every node for the given weights ({code: w}, missing codes keep the published weight). */
function computeScores(weights) {
  const w = Object.assign({}, IX.baseWeights, weights || {});
  const vals = Object.assign({}, IX.norm);
  const minAvail = D.aggregation.min_availability;
  for (const code of IX.aggOrder) {
    const kids = IX.node[code].children;
    vals[code] = aggregateNode(kids.map((c) => vals[c]), kids.map((c) => w[c]), aggMethod(IX.node[code].level), minAvail);
  }
  return vals;
}

/** The user-weighted ranking: [{unit, score, rank, published_rank, move}] in unit order. */
function computeRanking(weights, vals) {
  vals = vals || computeScores(weights);
  const s = vals[D.index], r = rankDesc(s);
  return D.units.map((u, i) => ({
    unit: u.unit, score: Number.isNaN(s[i]) ? null : s[i], rank: r[i],
    published_rank: Number.isNaN(IX.published[i]) ? null : IX.published[i],
    move: (r[i] === null || Number.isNaN(IX.published[i])) ? null : IX.published[i] - r[i],
  }));
}

/* ---- which weights drove each move (mirrors hubindex/web/_drivers.py) --------------------------------------
 * Arithmetic means at every level: exact. For aggregate p with the children k a unit has data for,
 *   c_k = E_p · (w1_k − w0_k) · (x0_k − y0_p) / S1_p,   E_p = product of the new normalised weights from the index
 * down to p, S1_p = Σ new weights of the available children; Σ_k c_k = the unit's index score change.
 * Other aggregations: Shapley values of the changed weights (v(S) = index score with the weights in S changed),
 * exact over all 2^m coalitions for m ≤ 8, else the mean over 32 seeded random orders (still summing exactly). */
const SHAPLEY_MAX_EXACT = 8, SHAPLEY_PERMUTATIONS = 32;
function allArithmetic() { return IX.aggOrder.every((c) => aggMethod(IX.node[c].level) === "arithmetic"); }
function baseValues() { if (!IX.baseVals) IX.baseVals = computeScores({}); return IX.baseVals; }
function mulberry32(a) { return () => { a |= 0; a = (a + 0x6D2B79F5) | 0; let t = Math.imul(a ^ (a >>> 15), 1 | a); t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t; return ((t ^ (t >>> 14)) >>> 0) / 4294967296; }; }

/** {changed: [codes], w0, w1, delta: Float64Array, contrib: [Float64Array per changed code] (NaN = not
 *  decomposable for that unit), method: "exact" | "shapley" | "shapley-sampled"}. `vals1` = computeScores(weights). */
function decomposeDrivers(weights, vals1) {
  const w0 = IX.baseWeights, w1 = Object.assign({}, w0, weights || {});
  const v0 = baseValues(), v1 = vals1 || computeScores(weights);
  const n = D.units.length;
  const changed = IX.codes.filter((c) => IX.node[c].parent && w1[c] !== w0[c]);
  const delta = new Float64Array(n);
  for (let i = 0; i < n; i++) delta[i] = v1[D.index][i] - v0[D.index][i];
  const contrib = changed.map(() => new Float64Array(n));
  let method = "exact";
  if (changed.length && allArithmetic()) {
    const col = Object.fromEntries(changed.map((c, j) => [c, j]));
    const E = { [D.index]: new Float64Array(n).fill(1) };
    for (let a = IX.aggOrder.length - 1; a >= 0; a--) {   // the index first, then down the tree
      const code = IX.aggOrder[a], Ep = E[code], kids = IX.node[code].children, y = v0[code];
      if (!Ep) continue;
      for (const k of kids) E[k] = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        if (!(Ep[i] > 0)) continue;
        let S1 = 0;
        for (const k of kids) if (!Number.isNaN(v0[k][i])) S1 += w1[k];
        if (!(S1 > 0)) continue;
        for (const k of kids) {
          const x = v0[k][i];
          if (Number.isNaN(x)) continue;
          E[k][i] = Ep[i] * w1[k] / S1;
          if (k in col) contrib[col[k]][i] = Ep[i] * (w1[k] - w0[k]) * (x - y[i]) / S1;
        }
      }
    }
  } else if (changed.length) {
    const m = changed.length;
    const value = (S) => { const w = {}; S.forEach((j) => { w[changed[j]] = w1[changed[j]]; }); return computeScores(w)[D.index]; };
    if (m <= SHAPLEY_MAX_EXACT) {
      method = "shapley";
      const f = new Array(1 << m);
      for (let mask = 0; mask < (1 << m); mask++) f[mask] = mask === 0 ? v0[D.index] : (mask === (1 << m) - 1 ? v1[D.index] : value(changed.map((_, j) => j).filter((j) => mask & (1 << j))));
      const fact = [1]; for (let k = 1; k <= m; k++) fact[k] = fact[k - 1] * k;
      for (let mask = 0; mask < (1 << m); mask++) {
        let size = 0; for (let j = 0; j < m; j++) if (mask & (1 << j)) size++;
        const coef = fact[size] * fact[m - size - 1] / fact[m];
        for (let j = 0; j < m; j++) {
          if (mask & (1 << j)) continue;
          const a = f[mask | (1 << j)], b = f[mask], cj = contrib[j];
          for (let i = 0; i < n; i++) cj[i] += coef * (a[i] - b[i]);
        }
      }
    } else {
      method = "shapley-sampled";
      const rnd = mulberry32(0);
      for (let p = 0; p < SHAPLEY_PERMUTATIONS; p++) {
        const order = changed.map((_, j) => j);
        for (let j = m - 1; j > 0; j--) { const r = Math.floor(rnd() * (j + 1)); [order[j], order[r]] = [order[r], order[j]]; }
        let prev = v0[D.index]; const S = [];
        for (const j of order) { S.push(j); const cur = S.length === m ? v1[D.index] : value(S); for (let i = 0; i < n; i++) contrib[j][i] += (cur[i] - prev[i]) / SHAPLEY_PERMUTATIONS; prev = cur; }
      }
    }
  }
  // a unit whose set of available nodes changes with the weights has no decomposition
  for (let i = 0; i < n; i++) {
    let ok = !Number.isNaN(delta[i]);
    for (const c of IX.aggOrder) if (Number.isNaN(v0[c][i]) !== Number.isNaN(v1[c][i])) { ok = false; break; }
    if (!ok) for (const cj of contrib) cj[i] = NaN;
  }
  return { changed, w0, w1, delta, contrib, method };
}
const DRIVER_NOTE = {
  exact: "Exact decomposition of the arithmetic means, level by level: raising a weight helps a city where that node scores above the city's average of its siblings; the contributions add up to the score change.",
  shapley: "Shapley values of the changed weights (all coalitions; the aggregation is not arithmetic): they add up to the score change.",
  "shapley-sampled": "Shapley values of the changed weights estimated from 32 random orders (more than 8 changed weights, non-arithmetic aggregation): they add up to the score change exactly; the split is an estimate.",
};
/** One unit's drivers, largest |contribution| first: [{code, w0, w1, c}]. */
function unitDrivers(dec, i) {
  if (dec.contrib.some((cj) => Number.isNaN(cj[i]))) return null;
  return dec.changed.map((c, j) => ({ code: c, w0: dec.w0[c], w1: dec.w1[c], c: dec.contrib[j][i] })).sort((a, b) => Math.abs(b.c) - Math.abs(a.c));
}
const driverLabel = (d) => `${d.code} weight ${d.w1 > d.w0 ? "↑" : "↓"} ${d.c >= 0 ? "+" : "−"}${fmt(Math.abs(d.c), 1)}`;
window.hubindex = { computeRanking, computeScores, rankDesc, decomposeDrivers };

function spearman(a, b) {
  const ok = a.map((x, i) => x !== null && b[i] !== null && !Number.isNaN(x) && !Number.isNaN(b[i]));
  const A = a.filter((_, i) => ok[i]), B = b.filter((_, i) => ok[i]);
  const avgRank = (v) => { const o = v.map((x, i) => [x, i]).sort((p, q) => p[0] - q[0]); const r = new Array(v.length); let i = 0;
    while (i < o.length) { let j = i; while (j + 1 < o.length && o[j + 1][0] === o[i][0]) j++; for (let m = i; m <= j; m++) r[o[m][1]] = (i + j) / 2 + 1; i = j + 1; } return r; };
  return pearson(avgRank(A), avgRank(B));
}
function pearson(a, b) {
  const ok = [];
  for (let i = 0; i < a.length; i++) if (!Number.isNaN(a[i]) && !Number.isNaN(b[i]) && a[i] !== null && b[i] !== null) ok.push(i);
  const n = ok.length; if (n < 3) return NaN;
  let ma = 0, mb = 0; for (const i of ok) { ma += a[i]; mb += b[i]; } ma /= n; mb /= n;
  let sab = 0, saa = 0, sbb = 0; for (const i of ok) { sab += (a[i] - ma) * (b[i] - mb); saa += (a[i] - ma) ** 2; sbb += (b[i] - mb) ** 2; }
  return sab / Math.sqrt(saa * sbb);
}

// --------------------------------------------------------------------------------------------- bootstrap
async function init() {
  const res = await fetch("/api/bootstrap");
  D = await res.json();
  IX.node = Object.fromEntries(D.framework.map((n) => [n.code, n]));
  IX.unit = Object.fromEntries(D.units.map((u) => [u.unit, u]));
  IX.uPos = Object.fromEntries(D.units.map((u, i) => [u.unit, i]));
  IX.sPos = Object.fromEntries(D.scores.columns.map((c, j) => [c, j]));
  IX.scoreOf = (u, c) => D.scores.data[IX.uPos[u]][IX.sPos[c]];
  IX.rankOf = (u, c) => D.ranks.data[IX.uPos[u]][IX.sPos[c]];
  IX.ranking = Object.fromEntries(D.ranking.map((r) => [r.unit, r]));
  prepareEngine();
  IX.search = Object.fromEntries(D.ranking.map((x) => [x.unit, [x.unit, x.name, ...(D.aliases && D.aliases[x.unit] || [])].map(fold).filter(Boolean)]));
  document.getElementById("title").textContent = D.meta.name;
  IX.noun = D.units.length && D.units.every((u) => /^[A-Z]{3}$/.test(u.unit)) ? ["country", "countries"] : ["city", "cities"];   // ISO-3 codes: a country index
  document.getElementById("subtitle").textContent = `${D.meta.n_units} ${IX.noun[1]}`;
  document.getElementById("footer").append(
    el("div", { id: "cite-as" }, "Cite as: ", citeText(D.meta.citation)), el("div", {}, "Licence: ", D.meta.licence),
    el("div", {}, "Data and method: ", el("a", { href: "/docs" }, "API"), " · ", el("a", { href: "/api/ranking?format=xlsx" }, "ranking.xlsx"), " · ", el("a", { href: "#/methodology" }, "methodology")),
    el("div", { class: "details-line", id: "spec-details" }, `Details: spec ${D.meta.spec_hash.slice(0, 12)} · hubindex ${D.meta.hubindex_version}`));
  document.getElementById("skip-main").addEventListener("click", (e) => { e.preventDefault(); document.getElementById("main").focus(); });
  document.getElementById("skip-downloads").addEventListener("click", (e) => {
    e.preventDefault();
    const b = document.querySelector("#main .downloads button");
    if (b) { b.scrollIntoView({ block: "center" }); b.focus(); } else document.getElementById("main").focus();
  });
  window.addEventListener("hashchange", route);
  route();
}

const PAGES = {};
/** A unit code from a link: the code itself, or a city name / alias in any case or accent ("hangzhou", "sao-paulo"). */
function resolveUnit(arg) {
  if (!arg || IX.unit[arg]) return arg;
  const up = arg.toUpperCase();
  if (IX.unit[up]) return up;
  const k = fold(arg);
  const hit = D.ranking.find((x) => IX.search[x.unit].includes(k));
  return hit ? hit.unit : arg;
}
/** Units whose code, name or alias contains the query (folded: no case, accents or punctuation). */
function matchesQuery(x, q) {
  const k = fold(q);
  if (!k) return true;
  const roles = D.group_roles;
  return IX.search[x.unit].some((s) => s.includes(k)) || [roles.country && x[roles.country], roles.region && x[roles.region]].some((v) => v && fold(v).includes(k));
}
let ROUTE_GEN = 0;   // bumped on every navigation: an async page that finds it changed after an await stops
function route() {
  ROUTE_GEN++;
  const r = parseHash();
  const page = PAGES[r.page] ? r.page : "ranking";
  document.querySelectorAll("nav a[data-page]").forEach((a) => { if (a.dataset.page === page) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current"); });
  const main = document.getElementById("main");
  main.replaceChildren();
  PAGES[page](main, r);
  document.title = `${D.meta.name} — ${page}`;
}

function groupOptions(col) {
  return [...new Set(D.units.map((u) => u[col]).filter((x) => x !== null && x !== undefined))].sort();
}
function selectEl(id, label, options, value, onchange) {
  const s = el("select", { id, onchange: (e) => onchange(e.target.value) },
    options.map(([v, t]) => el("option", { value: v, selected: v === value }, t)));
  return el("label", { for: id }, label, s);
}

// ------------------------------------------------------------------------------------------------ Ranking
PAGES.ranking = (main, r) => {
  const P = r.params;
  const roles = D.group_roles;
  const state = { q: P.get("q") || "", sort: P.get("sort") || "rank", dir: P.get("dir") || "asc",
    region: P.get("region") || "", country: P.get("country") || "", tier: P.get("tier") || "", within: P.get("within") || "" };
  const groupCols = Object.keys(D.units[0] || {}).filter((k) => !["unit", "name", "lat", "lon"].includes(k));
  const cols = [["rank", "Rank", true], ["name", "City", false]];
  if (roles.country) cols.push([roles.country, "Country", false]);
  if (roles.region && roles.region !== roles.country) cols.push([roles.region, "Region", false]);
  if (D.tiers) cols.push(["tier", "Tier", false]);
  cols.push(["score", "Score", true]);
  D.pillars.forEach((p) => cols.push([p, nodeName(p), true]));
  D.subrankings.forEach((g) => cols.push([`rank_in_${g}`, `Rank in ${groupLabel(g).replace(/^Region of/, "region of").replace(/^(Country|Region)$/, (m) => m.toLowerCase())}`, true]));
  const KEEP_ON_PHONE = new Set(["rank", "name", "score"]);
  if (D.ranking.some((x) => x.rank_lo !== undefined)) cols.splice(1, 0, ["interval", "Rank 5–95 %", false]);
  if (D.meta.editions && D.meta.editions.previous) cols.splice(1, 0, ["change", `Change vs ${D.meta.editions.previous}`, true]);

  const controls = el("div", { class: "controls", role: "search" });
  const search = el("input", { type: "search", id: "q", value: state.q, placeholder: "City, country, code…", "aria-label": "Search units" });
  search.addEventListener("input", () => { state.q = search.value; updateParam("q", state.q); draw(); });
  controls.append(el("label", { for: "q" }, "Search", search));
  if (roles.region) controls.append(selectEl("f-region", "Region", [["", "All"], ...groupOptions(roles.region).map((v) => [v, v])], state.region, (v) => { state.region = v; updateParam("region", v); draw(); }));
  if (roles.country && roles.country !== roles.region) controls.append(selectEl("f-country", "Country", [["", "All"], ...groupOptions(roles.country).map((v) => [v, v])], state.country, (v) => { state.country = v; updateParam("country", v); draw(); }));
  if (D.tiers) controls.append(selectEl("f-tier", "Tier", [["", "All"], ...D.tiers.labels.map((v) => [v, v])], state.tier, (v) => { state.tier = v; updateParam("tier", v); draw(); }));
  // sub-ranking: grouped by kind of group ("Within a country", "Within a region of China"), groups of ≥ 2 cities
  const withinSel = el("select", { id: "f-within" }, el("option", { value: "", selected: !state.within }, "Global ranking"),
    groupCols.map((g) => {
      const n = (v) => D.ranking.filter((x) => String(x[g]) === v).length;
      const vals = groupOptions(g).map(String).filter((v) => n(v) >= 2 || `${g}=${v}` === state.within);
      return vals.length ? el("optgroup", { label: `Within a ${groupLabel(g).replace(/^Region of/, "region of").replace(/^(Country|Region)$/, (m) => m.toLowerCase())}` },
        vals.map((v) => el("option", { value: `${g}=${v}`, selected: `${g}=${v}` === state.within }, `${groupValue(v)} (${n(v)} cities)`))) : null;
    }));
  withinSel.addEventListener("change", () => { state.within = withinSel.value; updateParam("within", state.within); draw(); });
  controls.append(el("label", { for: "f-within" }, "Sub-ranking", withinSel));
  const count = el("p", { class: "muted", id: "count", "aria-live": "polite" });
  const table = el("table", { id: "ranking-table" });
  const nomatch = el("div", { class: "nomatch", id: "no-match", hidden: true }, el("p", {}, `No ${IX.noun[0]} matches — clear filters to see the whole ranking.`),
    el("button", { type: "button", id: "clear-filters", class: "primary" }, "Clear filters"));
  nomatch.querySelector("button").addEventListener("click", () => {
    Object.assign(state, { q: "", region: "", country: "", tier: "", within: "" });
    for (const k of ["q", "region", "country", "tier", "within"]) updateParam(k, null);
    search.value = ""; controls.querySelectorAll("select").forEach((s2) => { s2.value = ""; });
    draw(); search.focus();
  });
  main.append(el("h1", {}, "Ranking"), el("p", { class: "muted" }, el("a", { href: "#main", id: "to-downloads" }, "Downloads ↓")), controls, count, nomatch, table);
  main.querySelector("#to-downloads").addEventListener("click", (e) => { e.preventDefault(); const b = main.querySelector(".downloads button"); b.scrollIntoView({ block: "center" }); b.focus(); });
  main.append(downloadBar("ranking_view", () => currentRows, () => cols.map((c) => c[0]).flatMap((c) => c === "interval" ? ["rank_lo", "rank_median", "rank_hi"] : (c === "change" ? ["change", "prev_rank"] : [c])).concat(["unit"])));
  let currentRows = [];

  function draw() {
    const q = state.q.trim();
    let rows = D.ranking.filter((x) => {
      if (q && !matchesQuery(x, q)) return false;
      if (state.region && x[roles.region] !== state.region) return false;
      if (state.country && x[roles.country] !== state.country) return false;
      if (state.tier && x.tier !== state.tier) return false;
      return true;
    });
    let withinRank = null;
    if (state.within) {
      const [g, v] = state.within.split("=");
      rows = rows.filter((x) => String(x[g]) === v);
      withinRank = Object.fromEntries(D.ranking.filter((x) => String(x[g]) === v).map((x) => [x.unit, x[`rank_in_${g}`] ?? null]));
      // groups without a spec sub-ranking: rank by score inside the group
      if (Object.values(withinRank).every((v2) => v2 === null)) {
        const grp = D.ranking.filter((x) => String(x[g]) === v);
        const rr = rankDesc(Float64Array.from(grp.map((x) => x.score ?? NaN)));
        withinRank = Object.fromEntries(grp.map((x, i) => [x.unit, rr[i]]));
      }
    }
    const key = state.sort, dir = state.dir === "desc" ? -1 : 1;
    const val = (x) => key === "rank" && withinRank ? withinRank[x.unit] : x[key];
    rows = rows.slice().sort((a, b) => {
      const va = val(a), vb = val(b);
      if (va === null || va === undefined) return 1; if (vb === null || vb === undefined) return -1;
      return (typeof va === "number" ? va - vb : String(va).localeCompare(String(vb))) * dir || (a.rank ?? 1e9) - (b.rank ?? 1e9);
    });
    currentRows = rows.map((x) => withinRank ? Object.assign({}, x, { rank_within: withinRank[x.unit] }) : x);
    count.textContent = `${rows.length} of ${D.ranking.length} ${IX.noun[1]}` + (state.within ? ` — ranked within ${groupLabel(state.within.split("=")[0])}: ${state.within.split("=").slice(1).join("=")}` : "");
    nomatch.hidden = rows.length > 0; table.hidden = rows.length === 0;
    // a sub-rank column only where it says something for the rows shown (no column of "–" for London)
    const shown = cols.filter(([c]) => !c.startsWith("rank_in_") || (rows.length && rows.every((x) => x[c] !== null && x[c] !== undefined)));
    const md = (c) => (c === "interval" || c.startsWith("rank_in_") ? "md1" : (c === roles.region || c === roles.country ? "md2" : ""));
    const cls = (c, num) => [num ? "num" : "", KEEP_ON_PHONE.has(c) ? "" : "opt", md(c)].filter(Boolean).join(" ") || null;
    const thead = el("thead", {}, el("tr", {}, shown.map(([c, label, num]) => {
      const sorted = state.sort === c;
      return el("th", { class: cls(c, num), scope: "col", "aria-sort": sorted ? (state.dir === "asc" ? "ascending" : "descending") : "none" },
        el("button", { type: "button", class: "sort", "data-col": c, onclick: () => {
          state.dir = (state.sort === c && state.dir === "asc") ? "desc" : (state.sort === c ? "asc" : (num && c !== "rank" && !c.startsWith("rank") ? "desc" : "asc"));
          state.sort = c; updateParam("sort", c); updateParam("dir", state.dir); draw();
          table.querySelector(`button[data-col="${c}"]`).focus();
        } }, label + (sorted ? (state.dir === "asc" ? " ▲" : " ▼") : "")));
    })));
    // on a phone the pillars (and tier, change, interval) hide behind a disclosure in the city cell
    const phonePillars = (x) => el("details", { class: "phone-only" }, el("summary", {}, "Pillars"),
      el("dl", { class: "pillar-list" }, D.pillars.map((c) => [el("dt", {}, nodeName(c)), el("dd", { style: heat(x[c]) }, fmt(x[c]))]),
        x.tier ? [el("dt", {}, "Tier"), el("dd", {}, x.tier)] : null,
        x.rank_lo !== undefined && x.rank_lo !== null ? [el("dt", {}, "Rank 5–95 %"), el("dd", {}, `${Math.round(x.rank_lo)}–${Math.round(x.rank_hi)}`)] : null));
    const tbody = el("tbody", {}, rows.map((x) => el("tr", { "data-unit": x.unit }, shown.map(([c, , num]) => {
      const k = cls(c, num);
      if (c === "rank") return el("td", { class: "num" }, withinRank ? `${withinRank[x.unit] ?? "–"}` : (x.rank ?? "–"), withinRank ? el("small", { class: "muted" }, ` (${x.rank})`) : null);
      if (c === "name") return el("td", {}, el("a", { href: `#/city/${encodeURIComponent(x.unit)}` }, x.name || x.unit), phonePillars(x));
      if (c === "tier") return el("td", { class: k }, x.tier ? el("span", { class: "tier" }, x.tier) : "–");
      if (c === "interval") return el("td", { class: "ivl-td opt md1" }, intervalCell(x.rank_lo, x.rank_hi, x.rank, D.ranking.length));
      if (c === "change") return el("td", { class: k, title: x.prev_rank ? `rank ${x.prev_rank} in ${D.meta.editions.previous}` : "not ranked in the previous edition" }, fmtChange(x.change));
      if (D.pillars.includes(c)) return el("td", { class: k, style: heat(x[c]) }, fmt(x[c]));
      if (c === "score") return el("td", { class: "num" }, el("strong", {}, fmt(x[c])));
      return el("td", { class: k }, x[c] ?? "–");
    }))));
    table.replaceChildren(el("caption", { class: "sr-only" }, `${D.meta.name}: ranking table, sorted by ${state.sort}`), thead, tbody);
  }
  draw();
  if (!performance.getEntriesByName("hubindex:table").length) performance.mark("hubindex:table");   // first table on screen
};

// ------------------------------------------------------------------------------------------- City profile
PAGES.city = async (main, r) => {
  const unit = resolveUnit(r.arg) || (D.ranking[0] && D.ranking[0].unit);
  const picker = el("select", { id: "city-pick", onchange: (e) => setHash("city", e.target.value, new URLSearchParams(r.params), false) },
    D.ranking.map((x) => el("option", { value: x.unit, selected: x.unit === unit }, `${x.rank ?? "–"}. ${x.name}`)));
  main.append(el("div", { class: "controls" }, el("label", { for: "city-pick" }, "City", picker)));
  const gen = ROUTE_GEN;
  const resp = await fetch(`/api/units/${encodeURIComponent(unit)}`);
  if (gen !== ROUTE_GEN) return;
  if (!resp.ok) { main.append(el("h1", {}, "City not found"), el("p", {}, `No city is called or coded '${unit}'. Pick one above or `, el("a", { href: `#/ranking?q=${encodeURIComponent(unit)}` }, "search the ranking"), ".")); return; }
  const p = await resp.json();
  if (gen !== ROUTE_GEN) return;
  const peer = r.params.get("peer") || "";
  main.append(el("h1", { id: "city-name" }, p.name, " ", el("small", { class: "muted" }, p.unit)));
  const kpis = el("div", { class: "kpis" },
    el("div", {}, el("small", {}, "Rank"), el("span", { class: "stat", id: "city-rank" }, `${p.rank ?? "–"}`), el("span", { class: "muted" }, ` of ${p.of}`)),
    p.rank_lo !== undefined && p.rank_lo !== null ? el("div", { id: "city-interval" }, el("small", {}, "Rank 5–95 % interval"), el("span", { class: "stat" }, `${Math.round(p.rank_lo)}–${Math.round(p.rank_hi)}`),
      el("span", { class: "muted" }, ` (median ${Math.round(p.rank_median)}, ${D.meta.uncertainty.n} replications)`)) : null,
    p.change !== undefined ? el("div", { id: "city-change" }, el("small", {}, `Change vs ${D.meta.editions.previous}`), el("span", { class: "stat" }, fmtChange(p.change)), p.prev_rank ? el("span", { class: "muted" }, ` (was ${p.prev_rank})`) : null) : null,
    el("div", {}, el("small", {}, "Score"), el("span", { class: "stat" }, fmt(p.score))),
    p.tier ? el("div", {}, el("small", {}, "Tier"), el("span", { class: "stat" }, p.tier)) : null,
    ...Object.entries(p.groups).filter(([, v]) => v.label !== null && v.label !== undefined && v.label !== "").map(([g, v]) => el("div", { "data-group": g }, el("small", {}, groupLabel(g)), `${groupValue(v.label)}`, v.rank ? el("span", { class: "muted" }, ` · #${v.rank} of ${v.n}`) : null)),
    el("div", {}, el("small", {}, "Imputed values"), `${p.n_imputed}`),
    p.n_country_level !== undefined ? el("div", {}, el("small", {}, "Country-level values"), `${p.n_country_level}`) : null);
  main.append(kpis);

  // radar vs tier average (or all units) or a chosen peer; axes: the highest level below the index with ≥ 3 nodes
  const pillars = radarAxes();
  const mine = pillars.map((c) => IX.scoreOf(p.unit, c));
  let refName, ref;
  if (peer && IX.unit[peer]) { refName = unitName(peer); ref = pillars.map((c) => IX.scoreOf(peer, c)); }
  else {
    const same = p.tier ? D.ranking.filter((x) => x.tier === p.tier).map((x) => x.unit) : D.units.map((u) => u.unit);
    refName = p.tier ? `Tier “${p.tier}” average` : "Average of all units";
    ref = pillars.map((c) => { const v = same.map((u) => IX.scoreOf(u, c)).filter((x) => x !== null); return v.reduce((a, b) => a + b, 0) / (v.length || 1); });
  }
  const peerSel = el("select", { id: "peer-pick", onchange: (e) => { const q = new URLSearchParams(r.params); if (e.target.value) q.set("peer", e.target.value); else q.delete("peer"); setHash("city", unit, q, false); } },
    el("option", { value: "" }, p.tier ? "Tier average" : "All-unit average"), D.ranking.filter((x) => x.unit !== unit).map((x) => el("option", { value: x.unit, selected: x.unit === peer }, x.name)));
  const radar = el("div", { class: "chart", id: "radar", role: "img", "aria-label": `Radar chart of ${p.name}'s pillar scores against ${refName}` });
  const alt = `${p.name} vs ${refName}: ` + pillars.map((c, i) => `${nodeName(c)} ${fmt(mine[i])} vs ${fmt(ref[i])}`).join("; ") + ".";
  main.append(el("div", { class: "grid" },
    el("section", { class: "card" }, el("h3", {}, pillars.join() === D.pillars.join() ? "Pillar scores" : "Scores by sub-pillar"), el("div", { class: "controls" }, el("label", { for: "peer-pick" }, "Compare with", peerSel)), radar, el("p", { class: "muted", id: "radar-alt" }, alt)),
    el("section", { class: "card" }, el("h3", {}, "Strengths"), el("ol", { id: "strengths" }, p.strengths.map((c) => swItem(p, c))),
      el("h3", {}, "Weaknesses"), el("ol", { id: "weaknesses" }, p.weaknesses.map((c) => swItem(p, c))),
      el("h3", {}, "Neighbours in the ranking"), el("p", {}, p.neighbours.map((u) => u === p.unit ? el("strong", {}, `${unitName(u)} `) : el("a", { href: `#/city/${encodeURIComponent(u)}`, style: "margin-right:.5rem" }, unitName(u)))),
      el("h3", {}, "Most similar (pillar profile)"), el("p", {}, p.similar.map((u) => el("a", { href: `#/city/${encodeURIComponent(u)}`, style: "margin-right:.5rem" }, unitName(u)))),
      el("p", {}, el("a", { href: `#/compare?units=${[p.unit, ...(peer ? [peer] : p.similar.slice(0, 2))].join(",")}` }, "Compare side by side →")))));
  withPlotly(radar, () => {
    const close = (a) => a.concat([a[0]]);
    const theta = close(pillars.map((c) => radar.clientWidth < 480 ? wrapLabel(nodeName(c)) : nodeName(c)));   // phone: no label cut at the edge
    Plotly.newPlot(radar, [
      { type: "scatterpolar", r: close(ref), theta, name: refName, fill: "toself", opacity: 0.5, line: { color: "#999" } },
      { type: "scatterpolar", r: close(mine), theta, name: p.name, fill: "toself", opacity: 0.6, line: { color: "#0b5cad" } }],
      { polar: { radialaxis: { range: [0, 100] } }, margin: radar.clientWidth < 480 ? { t: 30, b: 30, l: 75, r: 75 } : { t: 30, b: 30, l: 40, r: 40 }, showlegend: true, legend: { orientation: "h" } },
      plotConfig());
  });
  // node table
  const rows = p.nodes.filter((n) => n.code !== D.index);
  const depth = (c) => { let d = 0, q = IX.node[c].parent; while (q && q !== D.index) { d++; q = IX.node[q].parent; } return d; };
  const provCell = (n) => {
    const pv = n.provenance;
    if (!n.is_indicator) return el("td", {});
    if (!pv) return el("td", { class: "muted" }, n.source || "");
    const head = [pv.source || n.source, pv.year].filter(Boolean).join(", ");
    return el("td", { class: "prov" }, el("details", {}, el("summary", { title: pv.derivation || "" }, head),
      el("dl", {},
        pv.derivation ? [el("dt", {}, "Derivation"), el("dd", {}, pv.derivation)] : null,
        pv.original_value !== null && pv.original_value !== undefined ? [el("dt", {}, "As published"), el("dd", {}, `${pv.original_value}${pv.original_unit ? " " + pv.original_unit : ""}`)] : null,
        pv.source_date ? [el("dt", {}, "Source date"), el("dd", {}, pv.source_date)] : null,
        pv.source_file ? [el("dt", {}, "File"), el("dd", {}, el("code", {}, pv.source_file))] : null,
        levelOf(pv) ? [el("dt", {}, "Level"), el("dd", {}, LEVEL_TEXT[levelOf(pv)] || levelOf(pv))] : null,
        pv.survey ? [el("dt", {}, "Survey estimate"), el("dd", {}, surveyText(pv)), el("dt", {}, "Standard error"), el("dd", {}, fmt(pv.se, 2)),
          el("dt", {}, "Design effect"), el("dd", {}, fmt(pv.deff, 2)), el("dt", {}, "Weighting"), el("dd", {}, pv.weighting || "–")] : null)));
  };
  /** "value [ci_low–ci_high], n=…" of a survey estimate (or "suppressed, n=…"). */
  const surveyText = (pv) => pv.estimate === null || pv.estimate === undefined ? `suppressed, n=${pv.n ?? "–"}` : `${fmt(pv.estimate)} [${fmt(pv.ci_low)}–${fmt(pv.ci_high)}], n=${pv.n ?? "–"}`;
  const rawCell = (n) => {
    if (!n.is_indicator) return el("td", { class: "num" }, "");
    const pv = n.provenance;
    if (!pv || !pv.survey) return el("td", { class: "num" }, fmtRaw(n.raw));
    return el("td", { class: "num" }, fmtRaw(n.raw), el("div", { class: "survey-ci muted", title: "survey estimate with its 95 % interval and the number of respondents" }, surveyText(pv)));
  };
  const tbl = el("table", { id: "profile-table" }, el("caption", {}, "Scores and ranks per pillar and indicator (open a source for its derivation)"),
    el("thead", {}, el("tr", {}, ["Code", "Name", "Raw value", "Unit", "Score", "Rank", "Source, year", "Flags"].map((h) => el("th", { scope: "col", class: ["Raw value", "Score", "Rank"].includes(h) ? "num" : "" }, h)))),
    el("tbody", {}, rows.map((n) => el("tr", { "data-code": n.code, class: n.is_indicator ? "" : "agg-row" },
      el("td", {}, n.code), el("td", { style: `padding-left:${0.45 + depth(n.code)}rem` }, n.name),
      rawCell(n), el("td", { class: "muted" }, n.unit || ""),
      el("td", { class: "num", style: heat(n.score) }, fmt(n.score)), el("td", { class: "num" }, n.rank ? `${n.rank}/${n.of}` : "–"),
      provCell(n),
      el("td", { class: "flags" }, n.imputed ? el("span", { class: "flag", title: "the value was missing and imputed" }, "imputed") : null,
        n.treated ? el("span", { class: "flag", "data-flag": n.treated, title: `outlier treatment (${n.treated}): the score uses the treated value; the raw value is as published` }, treatText(n.treated)) : null,
        levelFlag(n.provenance),
        n.provenance && n.provenance.survey ? el("span", { class: "flag flag-survey", title: "a design-based survey estimate (hubindex survey estimate)" }, "survey") : null)))));
  main.append(el("h2", {}, "Pillars and indicators"), wrap(tbl),
    downloadBar(`profile_${p.unit}`, () => rows.map((n) => { const pv = n.provenance || {}; return { unit: p.unit, code: n.code, name: n.name, level: n.level, raw: n.raw ?? null, unit_of_measure: n.unit ?? null, score: n.score, rank: n.rank, of: n.of, imputed: n.imputed ?? null, treated: n.treated ? treatText(n.treated) : null,
      source: pv.source ?? n.source ?? null, year: pv.year ?? null, scope: pv.scope ?? null, value_level: levelOf(pv) ?? null, source_date: pv.source_date ?? null, source_file: pv.source_file ?? null, original_value: pv.original_value ?? null, original_unit: pv.original_unit ?? null, derivation: pv.derivation ?? null,
      survey_estimate: pv.estimate ?? null, se: pv.se ?? null, ci_low: pv.ci_low ?? null, ci_high: pv.ci_high ?? null, n: pv.n ?? null, deff: pv.deff ?? null, weighting: pv.weighting ?? null }; }),
      () => ["unit", "code", "name", "level", "raw", "unit_of_measure", "score", "rank", "of", "imputed", "treated", "source", "year", "scope", "value_level", "source_date", "source_file", "original_value", "original_unit", "derivation",
        ...(rows.some((n) => n.provenance && n.provenance.survey) ? ["survey_estimate", "se", "ci_low", "ci_high", "n", "deff", "weighting"] : [])]));
  if (!performance.getEntriesByName("hubindex:table").length) performance.mark("hubindex:table");
  cityExtras(main, p);
};
/** City page sections that come from the editions and hubindex.store: rank history, best/worst attainable rank,
 *  "what it takes" to reach a goal, and the city's own targets. Each loads on its own (a failure shows there). */
function cityExtras(main, p) {
  const r = parseHash();
  const grid = el("div", { class: "grid" });
  main.append(el("h2", {}, "Over time and what it takes"), grid);
  // rank history
  if (D.meta.editions) {
    const card = el("section", { class: "card", id: "history-card" }, el("h3", {}, "Rank history"));
    const chart = el("div", { class: "chart", id: "history-chart", role: "img", style: "min-height:260px" });
    const alt = el("p", { class: "muted", id: "history-alt" });
    const tb = el("table", { id: "history-table" });
    card.append(chart, alt, tb);
    grid.append(card);
    fetch(`/api/units/${encodeURIComponent(p.unit)}/history`).then((x) => x.json()).then((js) => {
      const h = js.rows || [];
      const pres = h.filter((x) => x.present);
      const txt = `${p.name}'s rank by edition: ` + h.map((x) => `${x.label} ${x.present ? "#" + x.rank : "not ranked"}`).join(", ") + ".";
      alt.textContent = txt; chart.setAttribute("aria-label", txt);
      tb.append(el("thead", {}, el("tr", {}, ["Edition", "Rank", "Change", "Score", "Tier"].map((c) => el("th", { scope: "col", class: c === "Edition" || c === "Tier" ? "" : "num" }, c)))),
        el("tbody", {}, h.map((x) => el("tr", { "data-label": x.label }, el("td", {}, x.label), el("td", { class: "num" }, x.present ? `${x.rank}/${x.n_units}` : "–"),
          el("td", { class: "num" }, x.rank_change === null ? "" : fmtChange(x.rank_change)), el("td", { class: "num" }, fmt(x.score)), el("td", {}, x.tier || "")))));
      card.append(downloadBar(`history_${p.unit}`, () => h, () => ["label", "rank", "rank_change", "score", "tier", "n_units", "present"]));
      if (pres.length) withPlotly(chart, () => Plotly.newPlot(chart, [{ type: "scatter", mode: "lines+markers+text", x: pres.map((x) => x.label), y: pres.map((x) => x.rank), text: pres.map((x) => "#" + x.rank), textposition: "top center", line: { color: "#0b5cad" }, hovertemplate: "%{x}: rank %{y}<extra></extra>" }],
        { yaxis: rankAxis(pres.map((x) => x.rank)), xaxis: { type: "category" }, margin: { t: 20, b: 40, l: 55, r: 20 }, height: 260 }, plotConfig()));
    }).catch((e) => { alt.textContent = `History unavailable: ${e}`; });
  }
  // best / worst attainable rank over admissible weights
  const rr = el("section", { class: "card", id: "range-card" }, el("h3", {}, "Best and worst attainable rank"));
  const rrOut = el("div", { id: "rank-range", "aria-live": "polite" }, el("p", { class: "muted" }, "Computing…"));
  rr.append(rrOut);
  grid.append(rr);
  fetch(`/api/units/${encodeURIComponent(p.unit)}/rank-range`).then(async (x) => {
    const js = await x.json();
    if (!x.ok) { rrOut.replaceChildren(el("p", { class: "muted" }, `Not available: ${js.detail}`)); return; }
    const wtxt = (w) => Object.entries(w).map(([k, v]) => `${nodeName(k)} ${(100 * v).toFixed(0)} %`).join(", ");
    rrOut.replaceChildren(
      el("div", { class: "kpis" }, el("div", {}, el("small", {}, "Best"), el("span", { class: "stat", id: "best-rank" }, `${js.best_rank}`)),
        el("div", {}, el("small", {}, "Published"), el("span", { class: "stat" }, `${js.rank}`)),
        el("div", {}, el("small", {}, "Worst"), el("span", { class: "stat", id: "worst-rank" }, `${js.worst_rank}`))),
      el("p", { class: "muted" }, `Over every set of ${js.level} weights summing to 100 % with each weight within ±${Math.round(100 * js.tol)} % of its published value (exact, by linear programming). `,
        el("span", { id: "always-above" }, `${js.n_always_above === 0 ? `No ${IX.noun[0]} ranks` : (js.n_always_above === 1 ? `1 ${IX.noun[0]} ranks` : `${js.n_always_above} ${IX.noun[1]} rank`)} above ${p.name} under every such weighting.`)),
      el("p", {}, el("strong", {}, "Best with: "), wtxt(js.weights_best), el("br"), el("strong", {}, "Worst with: "), wtxt(js.weights_worst)),
      el("p", {}, el("a", { id: "best-weights-link", href: `#/weights?w=${Object.entries(js.weights_best).map(([k, v]) => `${k}:${+(v * Object.keys(js.weights_best).reduce((a, c) => a + (IX.baseWeights[c] ?? 0), 0)).toFixed(3)}`).join(",")}` }, "Open the best-case weights in Build your own index →")));
  }).catch((e) => rrOut.replaceChildren(el("p", { class: "muted" }, `Not available: ${e}`)));
  // what it takes
  const wt = el("section", { class: "card", id: "whatif-card" }, el("h3", {}, "What it takes"));
  const goal = r.params.get("goal") || (p.rank > 1 ? `rank:${Math.max(1, p.rank - 5)}` : "rank:1");
  const [gk, gv] = goal.split(":");
  const kindSel = el("select", { id: "goal-kind" }, [["rank", "Reach rank"], ...(D.tiers ? [["tier", "Reach the next tier"]] : []), ["beat", "Overtake"]].map(([v, t]) => el("option", { value: v, selected: v === gk }, t)));
  const rankIn = el("input", { type: "number", id: "goal-rank", min: "1", max: String(D.ranking.length), value: gk === "rank" ? gv : String(Math.max(1, (p.rank || 2) - 5)), style: "width:5rem" });
  const beatSel = el("select", { id: "goal-beat" }, D.ranking.filter((x) => x.unit !== p.unit && (x.rank ?? 1e9) < (p.rank ?? 1e9)).map((x) => el("option", { value: x.unit, selected: gk === "beat" && x.unit === gv }, `${x.rank}. ${x.name}`)));
  const go = el("button", { type: "button", class: "primary", id: "goal-go" }, "Compute");
  const wtOut = el("div", { id: "whatif-out", "aria-live": "polite" });
  const rankLab = el("label", { for: "goal-rank" }, "Rank", rankIn), beatLab = el("label", { for: "goal-beat" }, "City", beatSel);
  const showInputs = () => { rankLab.hidden = kindSel.value !== "rank"; beatLab.hidden = kindSel.value !== "beat"; };
  kindSel.addEventListener("change", showInputs); showInputs();
  // issue 17 (whatif): a switch that lets national values (country proxies) into the plan — see whatIfNational
  const natBox = el("input", { type: "checkbox", id: "whatif-national", checked: r.params.get("national") === "1" });
  const natLab = el("label", { for: "whatif-national", title: "National values (country proxies, modelled values) are not city levers: by default they are shown apart as national context" }, natBox, " include national values");
  wt.append(el("div", { class: "controls" }, el("label", { for: "goal-kind" }, "Goal", kindSel), rankLab, beatLab, natLab, go), wtOut);
  grid.append(wt);
  const runWhatIf = async () => {
    const k = kindSel.value, q = new URLSearchParams();
    const g = k === "rank" ? `rank:${rankIn.value}` : (k === "tier" ? "tier:next" : `beat:${beatSel.value}`);
    if (k === "rank") q.set("rank", rankIn.value); else if (k === "tier") q.set("tier", "next"); else q.set("beat", beatSel.value);
    updateParam("goal", g);
    if (natBox.checked) q.set("include_national", "true"); // issue 17 (whatif)
    wtOut.replaceChildren(el("p", { class: "muted" }, "Computing…"));
    const x = await fetch(`/api/units/${encodeURIComponent(p.unit)}/what-it-takes?${q}`);
    const js = await x.json();
    if (!x.ok) { wtOut.replaceChildren(el("p", { class: "banner" }, js.detail)); return; }
    const beyond = (y) => { const rg = rawRange(y.indicator); return rg && (y.required > rg[1] + 1e-9 || y.required < rg[0] - 1e-9) ? el("span", { class: "flag", title: `outside the range observed across all cities (${fmtRaw(rg[0])} to ${fmtRaw(rg[1])}): check that such a value is possible` }, "beyond observed") : null; };
    const c = js.combination;
    const done = (y) => y.reachable && Math.abs(y.change ?? 0) < 1e-12;
    if (c.status === "already met" || (js.single.length && js.single.every(done))) {   // said once, not 15 rows of "0 (0 %)"
      wtOut.replaceChildren(el("p", { class: "whatif-done", id: "whatif-done" }, `${p.name} is already there: rank ${p.rank}${js.goal.rank ? ` meets the goal of rank ${js.goal.rank}` : " meets this goal"}. Pick a higher goal to see what it would take.`));
      return;
    }
    const view = (y) => Object.assign({}, y, whatIfShown(y));
    const single = js.single.filter((y) => y.reachable).map(view).sort((a, b) => Math.abs(a.change_pct ?? 1e18) - Math.abs(b.change_pct ?? 1e18));
    const none = js.single.filter((y) => !y.reachable).length;
    const plan = (c.plan || []).map(view);
    wtOut.replaceChildren(
      el("p", {}, el("strong", {}, "One indicator alone: "), single.length ? `${single.length} indicator(s) could do it on their own${none ? `; ${none} could not` : ""}.` : `no single indicator is enough (${none} tried).`),
      single.length ? wrap(el("table", { id: "whatif-single" }, el("thead", {}, el("tr", {}, ["Indicator", "Now", "Needed", "Change", "Rank after"].map((h) => el("th", { scope: "col", class: h === "Indicator" ? "" : "num" }, h)))),
        el("tbody", {}, single.map((y) => el("tr", { "data-code": y.indicator, "data-scale": y.scale }, el("td", {}, `${y.name}`, el("small", { class: "muted" }, y.unit ? ` (${y.unit})` : "")), el("td", { class: "num" }, y.now_text),
          el("td", { class: "num" }, y.needed_text, beyond(y)), el("td", { class: "num" }, y.change_text),
          el("td", { class: "num" }, y.rank_after ?? "–")))))) : null,
      single.length ? downloadBar(`what_it_takes_${p.unit}`, () => js.single.map(view), () => ["indicator", "name", "unit", "current", "required", "change", "change_pct", "needed_shown", "change_shown", "reachable", "rank_before", "rank_after", "score_after", "verified", "note"]) : null,
      el("p", {}, el("strong", {}, "Cheapest combination: "), c.status === "optimal" ? `${c.plan.length} indicator(s); checked by a full rebuild: rank ${c.check_rank}${c.check_met ? " (goal met)" : " (goal not met: the linear model is approximate)"}.` : c.status),
      plan.length ? wrap(el("table", { id: "whatif-plan" }, el("thead", {}, el("tr", {}, ["Indicator", "Now", "Needed", "Change"].map((h) => el("th", { scope: "col", class: h === "Indicator" ? "" : "num" }, h)))),
        el("tbody", {}, plan.map((y) => el("tr", { "data-code": y.indicator, "data-scale": y.scale }, el("td", {}, y.name, el("small", { class: "muted" }, y.unit ? ` (${y.unit})` : "")), el("td", { class: "num" }, y.now_text), el("td", { class: "num" }, y.needed_text, beyond(y)), el("td", { class: "num" }, y.change_text)))))) : null,
      plan.length ? downloadBar(`what_it_takes_plan_${p.unit}`, () => plan, () => ["indicator", "name", "unit", "current", "required", "change", "needed_shown", "change_shown", "normalised_from", "normalised_to", "effective_weight"]) : null,
      el("p", { class: "muted" }, "Counts are rounded to whole numbers; percentages change in percentage points; bounded or signed scales in their own units. Other cities held at their values."));
    wtOut.append(...whatIfNational(js)); // issue 17 (whatif)
  };
  go.addEventListener("click", runWhatIf);
  if (r.params.get("goal")) runWhatIf();
  // targets
  const tg = el("section", { class: "card", id: "targets-card" }, el("h3", {}, "The city's own targets"));
  const tgOut = el("div", { id: "targets-out" });
  tg.append(tgOut); grid.append(tg);
  fetch(`/api/units/${encodeURIComponent(p.unit)}/targets`).then(async (x) => {
    const js = await x.json();
    if (!x.ok) { tgOut.replaceChildren(el("p", { class: "muted" }, `Not available: ${js.detail}`)); return; }
    if (!js.targets.length) { tgOut.replaceChildren(el("p", { class: "muted" }, `No published targets for ${p.name}.`)); return; }
    tgOut.replaceChildren(el("div", { id: "targets-list" }, js.targets.map(targetItem)),
      downloadBar(`targets_${p.unit}`, () => js.targets.map((t) => Object.assign({}, t, { related: (relatedObservation(t) || {}).measure ?? null })), () => ["city", "measure", "relation", "target", "unit", "deadline", "status", "latest_year", "latest_value", "progress_pct", "observed_by", "related", "source", "quote"]));
  }).catch((e) => tgOut.replaceChildren(el("p", { class: "muted" }, `Not available: ${e}`)));
}
const words = (m) => String(m || "").replace(/_/g, " ");
const REL_TEXT = { ">": "more than", ">=": "at least", "=": "", "~": "about", "<": "less than", "<=": "at most" };
/** The observation (of another measure) most related to a target: same unit, else most words of the measure
 *  in common; the latest year wins. Shown as context only: it is not the target's own measure. */
function relatedObservation(t) {
  const rel = t.related_observations || [];
  const toks = (m) => new Set(String(m).split("_").filter((w) => w.length > 3));
  const mine = toks(t.measure);
  const score = (o) => (o.unit && t.unit && o.unit === t.unit ? 10 : 0) + [...toks(o.measure)].filter((w) => mine.has(w)).length;
  const best = rel.map((o) => [score(o), o]).filter(([k]) => k > 0).sort((a, b) => b[0] - a[0] || (b[1].year ?? 0) - (a[1].year ?? 0));
  return best.length ? best[0][1] : null;
}
/** One target: what was promised, its status, the latest observation with the gap and a progress bar (when the
 *  index or the city reports this measure), else the closest related figure and one plain sentence. */
function targetItem(t) {
  const what = t.relation === "status" ? `${words(t.measure)}` : `${words(t.measure)}: ${REL_TEXT[t.relation] ?? t.relation} ${fmtRaw(t.target)} ${t.unit || ""}`.trim();
  const kids = [el("h4", {}, what, el("span", { class: "muted" }, ` — by ${t.deadline}`), " ", el("span", { class: `status status-${(t.status || "").replace(/\s+/g, "-")}` }, t.status))];
  if (t.latest_value !== null && t.latest_value !== undefined) {
    const gap = t.target !== null ? t.target - t.latest_value : null;
    kids.push(el("p", { class: "target-latest" }, `Latest: ${fmtRaw(t.latest_value)} ${t.unit || ""} in ${t.latest_year}`, t.observed_by ? el("span", { class: "muted" }, ` (${t.observed_by})`) : null,
      gap !== null ? ` — gap to target ${gap > 0 ? "+" : ""}${fmtRaw(gap)} ${t.unit || ""}` : ""));
    if (t.progress_pct !== null && t.progress_pct !== undefined) {
      const pc = Math.max(0, Math.min(100, t.progress_pct));
      kids.push(el("p", {}, el("span", { class: "progress", role: "progressbar", "aria-valuemin": "0", "aria-valuemax": "100", "aria-valuenow": pc.toFixed(0), "aria-label": `progress towards the target: ${pc.toFixed(0)} %` }, el("span", { style: `width:${pc}%` })), ` ${fmt(t.progress_pct, 0)} % of the way`));
    }
  } else {
    const o = relatedObservation(t);
    kids.push(el("p", { class: "target-plain" }, t.relation === "status"
      ? "A qualitative goal: there is no number to measure it by, and the index does not score it."
      : `The index does not measure ${words(t.measure)}, and no published figure for it is on record.`));
    if (o) kids.push(el("p", { class: "muted target-related" }, `Closest related figure (a different measure, so no gap is computed): ${words(o.measure)} ${o.relation && o.relation !== "=" ? (REL_TEXT[o.relation] || o.relation) + " " : ""}${fmtRaw(o.value)} ${o.unit || ""} (${o.year}).`));
  }
  kids.push(el("details", {}, el("summary", { class: "muted" }, `Source: ${t.source}`), el("p", {}, `“${t.quote}”`)));
  return el("div", { class: "target", "data-measure": t.measure }, kids);
}
/** issue 17 (whatif, self-contained): the best rank reachable with the moved indicators, and the "national
 * context" sub-table — national values (not city levers), what would change if the country's value moved. */
function whatIfNational(js) {
  const out = [], c = js.combination || {}, b = c.best_reachable;
  if (b && b.rank !== null && b.rank !== undefined) out.push(el("p", { id: "whatif-best" }, el("strong", {}, "Best reachable rank: "), `${b.rank} with ${js.include_national ? "every indicator" : "the city's own levers"} at the ends of their ranges${b.met === false ? " — the goal cannot be reached with them alone" : ""}.`));
  if (js.scope_note) out.push(el("p", { class: "muted" }, js.scope_note));
  const nat = js.national_context || [];
  if (!nat.length) return out;
  const why = (y) => (y.note || "").replace(/^national context[^;]*;?\s*/, "");
  out.push(el("p", {}, el("strong", {}, "National context: "), "values the city shares with its country; what it would take if the country's value moved (for every city sharing it)."),
    el("table", { id: "whatif-national-table" }, el("thead", {}, el("tr", {}, ["Indicator", "Now", "Needed", "Rank after"].map((h) => el("th", { scope: "col", class: h === "Indicator" ? "" : "num" }, h)))),
      el("tbody", {}, nat.map((y) => el("tr", { "data-code": y.indicator }, el("td", {}, y.name, el("small", { class: "muted" }, y.unit ? ` (${y.unit})` : "")), el("td", { class: "num" }, fmtRaw(y.current)),
        el("td", { class: "num" }, y.reachable ? fmtRaw(y.required) : el("small", { class: "muted" }, why(y) || "not reachable")), el("td", { class: "num" }, y.rank_after ?? "–"))))));
  return out;
}
/** [min, max] of an indicator's raw values over the served units (null when the raw table is not served). */
function rawRange(code) {
  if (!D.raw) return null;
  const j = D.raw.columns.indexOf(code);
  if (j < 0) return null;
  let lo = Infinity, hi = -Infinity;
  for (const row of D.raw.data) { const v = row[j]; if (v !== null && v !== undefined) { lo = Math.min(lo, v); hi = Math.max(hi, v); } }
  return Number.isFinite(lo) ? [lo, hi] : null;
}
/** The kind of scale an indicator is on, for "what it takes": "count" (whole numbers: unit "count", or every
 *  observed value an integer), "percent" (unit in %: changes in percentage points), "bounded" (a signed or bounded
 *  score, e.g. "estimate (-2.5..2.5)", or negative values observed: absolute changes only), else "ratio". */
function scaleKind(code, unit) {
  const u = String(unit || (IX.node[code] && IX.node[code].unit) || "").toLowerCase();
  const rg = rawRange(code);
  if (/\.\.|estimate|score|index|rating|rank/.test(u) || (rg && rg[0] < 0)) return "bounded";
  if (/%|percent|per cent/.test(u)) return "percent";
  if (/\bcount\b|number of/.test(u)) return "count";
  if (D.raw) { const j = D.raw.columns.indexOf(code); if (j >= 0 && D.raw.data.every((row) => row[j] === null || Number.isInteger(row[j]))) return "count"; }
  return "ratio";
}
/** How a "what it takes" row is shown: counts as whole numbers (rounded in the direction of the change, so the
 *  goal is still met), percentages in points, bounded/signed scales as absolute changes, ratio scales with %. */
function whatIfShown(y) {
  const scale = scaleKind(y.indicator, y.unit);
  const sign = (v) => (v > 0 ? "+" : (v < 0 ? "−" : "")), abs = Math.abs;
  if (y.required === null || y.required === undefined) return { scale, now_text: fmtRaw(y.current), needed_text: "–", change_text: "–", needed_shown: null, change_shown: null };
  if (scale === "count") {
    const need = y.change >= 0 ? Math.ceil(y.required - 1e-9) : Math.floor(y.required + 1e-9), ch = need - Math.round(y.current);
    return { scale, now_text: String(Math.round(y.current)), needed_text: String(need), change_text: `${sign(ch)}${abs(ch)}`, needed_shown: need, change_shown: ch };
  }
  if (scale === "percent") return { scale, now_text: fmt(y.current, 1), needed_text: fmt(y.required, 1), change_text: `${sign(y.change)}${fmt(abs(y.change), 1)} points`, needed_shown: +y.required.toFixed(1), change_shown: +y.change.toFixed(1) };
  if (scale === "bounded") return { scale, now_text: fmt(y.current, 2), needed_text: fmt(y.required, 2), change_text: `${sign(y.change)}${fmt(abs(y.change), 2)}`, needed_shown: +y.required.toFixed(2), change_shown: +y.change.toFixed(2) };
  return { scale, now_text: fmtRaw(y.current), needed_text: fmtRaw(y.required), change_text: `${sign(y.change)}${fmtRaw(abs(y.change))}` + (y.change_pct !== null && y.change_pct !== undefined && y.current > 0 ? ` (${sign(y.change_pct)}${fmt(abs(y.change_pct), 0)} %)` : ""),
    needed_shown: y.required, change_shown: y.change };
}
/** A rank axis: whole numbers from 1, best (1) on top; never 0 or fractions. */
function rankAxis(ranks) {
  const lo = Math.min(...ranks), hi = Math.max(...ranks), span = hi - lo;
  const step = span <= 8 ? 1 : (span <= 20 ? 2 : 5 * Math.ceil(span / 30));
  const pad = Math.max(0.6, span * 0.15);
  return { range: [hi + pad, Math.max(0.4, lo - pad)], autorange: false, tickmode: "linear", tick0: step === 1 ? 1 : 0, dtick: step, tickformat: "d",
    title: { text: "Rank (1 = best)" }, zeroline: false, fixedrange: true };
}
function radarAxes() {
  const top = IX.node[D.index].level;
  for (let lv = top - 1; lv >= 1; lv--) { const nodes = D.framework.filter((n) => n.level === lv).map((n) => n.code); if (nodes.length >= 3 && nodes.length <= 16) return nodes; }
  return D.pillars;
}
function swItem(p, c) {
  const n = p.nodes.find((x) => x.code === c);
  return el("li", {}, `${n.name} `, el("span", { class: "muted" }, `(#${n.rank} of ${n.of}, score ${fmt(n.score)}${n.imputed ? ", imputed" : ""})`));
}

// ------------------------------------------------------------------------------------------------- Map
PAGES.map = (main, r) => {
  const colorBy = r.params.get("color") || (D.tiers ? "tier" : "score");
  main.append(el("h1", {}, "Map"));
  const opts = [["score", "Index score"], ...(D.tiers ? [["tier", "Tier"]] : []), ["best", "Best pillar"]];
  main.append(el("div", { class: "controls" }, selectEl("map-color", "Colour by", opts, colorBy, (v) => { updateParam("color", v); route(); })));
  const div = el("div", { class: "chart", id: "map", style: "height:560px", role: "img" });
  const altP = el("p", { class: "muted", id: "map-alt" });
  main.append(div, altP);
  const withXY = D.units.filter((u) => u.lat !== undefined && u.lon !== undefined);
  const iso3 = D.units.every((u) => /^[A-Z]{3}$/.test(u.unit));
  const pts = (withXY.length ? withXY : (iso3 ? D.units : [])).map((u) => ({ u, rk: IX.ranking[u.unit] })).filter((x) => x.rk && x.rk.score !== null);
  if (!pts.length) { altP.textContent = "No coordinates: the data has no lat/lon columns and the unit codes are not ISO-3 country codes."; return; }
  const best = (u) => D.pillars.reduce((b, c) => (IX.scoreOf(u, c) ?? -1) > (IX.scoreOf(u, b) ?? -1) ? c : b, D.pillars[0]);
  const palette = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"];  // Okabe–Ito
  const cats = colorBy === "tier" ? D.tiers.labels : (colorBy === "best" ? D.pillars : null);
  const loc = withXY.length ? (sel) => ({ lat: sel.map((x) => x.u.lat), lon: sel.map((x) => x.u.lon) }) : (sel) => ({ locations: sel.map((x) => x.u.unit), locationmode: "ISO-3" });
  const size = (sel) => sel.map((x) => 6 + 0.22 * x.rk.score);
  const text = (sel) => sel.map((x) => `${x.rk.rank}. ${x.rk.name}: ${fmt(x.rk.score)}${x.rk.tier ? " (" + x.rk.tier + ")" : ""}`);
  let traces;
  if (cats) {
    traces = cats.map((c, i) => {
      const sel = pts.filter((x) => (colorBy === "tier" ? x.rk.tier : best(x.u.unit)) === c);
      return Object.assign({ type: "scattergeo", mode: "markers", name: colorBy === "best" ? nodeName(c) : c, text: text(sel), hoverinfo: "text", customdata: sel.map((x) => x.u.unit),
        marker: { size: size(sel), color: palette[i % palette.length], line: { width: 0.5, color: "#fff" } } }, loc(sel));
    });
  } else {
    traces = [Object.assign({ type: "scattergeo", mode: "markers", text: text(pts), hoverinfo: "text", customdata: pts.map((x) => x.u.unit),
      marker: { size: size(pts), color: pts.map((x) => x.rk.score), colorscale: "Viridis", showscale: true, colorbar: { title: { text: "Score" } } } }, loc(pts))];
  }
  const top = pts.slice().sort((a, b) => a.rk.rank - b.rk.rank).slice(0, 5).map((x) => `${x.rk.name} (${fmt(x.rk.score)})`);
  const alt = `World map of ${pts.length} units, symbol size by index score, colour by ${colorBy}. Highest: ${top.join(", ")}. The ranking table lists every value.`;
  div.setAttribute("aria-label", alt);
  altP.append(alt, " ", el("a", { href: "#/ranking" }, "Open the table"));
  withPlotly(div, () => {
    Plotly.newPlot(div, traces, { geo: { projection: { type: "natural earth" }, resolution: withXY.length ? 110 : 50, showcountries: true, countrycolor: "#ccc", showland: true, landcolor: "#f2f2f2", showframe: false },
      margin: { t: 10, b: 10, l: 10, r: 10 }, legend: { orientation: "h" } },
      plotConfig({ topojsonURL: "/static/geo/" }));
    div.on && div.on("plotly_click", (ev) => { const u = ev.points[0].customdata; if (u) location.hash = `#/city/${encodeURIComponent(u)}`; });
  });
};

// --------------------------------------------------------------------------------------------- Compare
PAGES.compare = (main, r) => {
  let units = (r.params.get("units") || "").split(",").filter((u) => IX.unit[u]);
  if (!units.length) units = D.ranking.slice(0, 3).map((x) => x.unit);
  main.append(el("h1", {}, "Compare"));
  const add = el("select", { id: "cmp-add" }, el("option", { value: "" }, "Add a city…"), D.ranking.filter((x) => !units.includes(x.unit)).map((x) => el("option", { value: x.unit }, x.name)));
  add.addEventListener("change", () => { if (add.value) { const q = new URLSearchParams(); q.set("units", units.concat([add.value]).join(",")); setHash("compare", null, q, false); } });
  const chips = el("div", { id: "cmp-chips" }, units.map((u) => el("span", { class: "chip" }, unitName(u),
    el("button", { type: "button", "aria-label": `Remove ${unitName(u)}`, onclick: () => { const q = new URLSearchParams(); q.set("units", units.filter((x) => x !== u).join(",")); setHash("compare", null, q, false); } }, "×"))));
  main.append(el("div", { class: "controls" }, el("label", { for: "cmp-add" }, "Cities", add)), chips);
  const nodes = D.framework.filter((n) => n.code !== D.index);
  const chart = el("div", { class: "chart", id: "cmp-chart", role: "img" });
  const alt = `Pillar scores of ${units.map(unitName).join(", ")}: ` + D.pillars.map((c) => `${nodeName(c)}: ` + units.map((u) => `${unitName(u)} ${fmt(IX.scoreOf(u, c))}`).join(", ")).join("; ") + ".";
  chart.setAttribute("aria-label", alt);
  main.append(chart, el("p", { class: "muted" }, alt));
  const narrow = isNarrow();   // phone: pillar names on two lines, never rotated and cut
  withPlotly(chart, () => Plotly.newPlot(chart, units.map((u) => ({ type: "bar", name: unitName(u), x: D.pillars.map((c) => narrow ? wrapLabel(nodeName(c)) : nodeName(c)), y: D.pillars.map((c) => IX.scoreOf(u, c)) })),
    { barmode: "group", yaxis: { title: { text: "Score" }, range: [0, 100] }, xaxis: { tickangle: 0, automargin: true }, margin: { t: 20 }, legend: narrow ? { orientation: "h", y: -0.3, yanchor: "top" } : { orientation: "h" } }, plotConfig()));
  const head = el("tr", {}, el("th", { scope: "col" }, "Node"), units.map((u) => el("th", { scope: "col", class: "num" }, el("a", { href: `#/city/${encodeURIComponent(u)}` }, unitName(u)))));
  const rowFor = (code, label, bold) => {
    const vals = units.map((u) => IX.scoreOf(u, code));
    const mx = Math.max(...vals.filter((v) => v !== null));
    return el("tr", { style: bold ? "font-weight:600;background:#f6f8fa" : "" }, el("th", { scope: "row" }, label),
      units.map((u, i) => el("td", { class: "num", style: vals[i] === mx ? "outline:2px solid #0b5cad" : "" }, fmt(vals[i]), el("small", { class: "muted" }, ` #${IX.rankOf(u, code) ?? "–"}`))));
  };
  const tbl = el("table", { id: "compare-table" }, el("caption", {}, "Score (rank) per node; best of the selection outlined"), el("thead", {}, head),
    el("tbody", {}, rowFor(D.index, "Index", true), nodes.map((n) => rowFor(n.code, `${n.name} (${n.code})`, !n.is_indicator))));
  main.append(wrap(tbl), downloadBar("compare", () => [D.index, ...nodes.map((n) => n.code)].map((c) => Object.assign({ code: c }, Object.fromEntries(units.map((u) => [u, IX.scoreOf(u, c)])))), () => ["code", ...units]));
};

// --------------------------------------------------------------------------------------------- Editions
/* #/editions?a=2024&b=2025&metric=rank|score&sort=abs|rel&n=15&units=A,B : compare two editions. "abs" sorts by the
 * absolute change (rank places or score points), "rel" by the change relative to edition A (places ÷ rank in A,
 * or score change in % of score A). With units=…, the slope chart shows those cities; otherwise the n biggest movers. */
PAGES.editions = async (main, r) => {
  main.append(el("h1", {}, "Editions"));
  if (!D.meta.editions) { main.append(el("p", {}, "This index has no editions (it is not one of the shipped dataset editions and no edition store was given).")); return; }
  const labs = D.meta.editions.labels, P = r.params;
  const a = labs.includes(P.get("a")) ? P.get("a") : (D.meta.editions.previous || labs[0]);
  const b = labs.includes(P.get("b")) ? P.get("b") : (D.meta.editions.current || labs[labs.length - 1]);
  const metric = P.get("metric") === "score" ? "score" : "rank", sortBy = P.get("sort") === "rel" ? "rel" : "abs";
  const n = Math.max(2, Math.min(91, +(P.get("n") || 15)));
  let chosen = (P.get("units") || "").split(",").filter(Boolean);
  const set = (k, v) => { const q = new URLSearchParams(P); if (v === null || v === "") q.delete(k); else q.set(k, v); setHash("editions", null, q, false); };
  main.append(el("p", { class: "muted" }, `${labs.length} editions (${labs.join(", ")}) — ${D.meta.editions.source}.`));
  const cityAdd = el("select", { id: "ed-add" }, el("option", { value: "" }, "Add a city…"), D.ranking.filter((x) => !chosen.includes(x.unit)).map((x) => el("option", { value: x.unit }, x.name)));
  cityAdd.addEventListener("change", () => { if (cityAdd.value) set("units", chosen.concat([cityAdd.value]).join(",")); });
  main.append(el("div", { class: "controls" },
    selectEl("ed-a", "From edition", labs.map((l) => [l, l]), a, (v) => set("a", v)),
    selectEl("ed-b", "To edition", labs.map((l) => [l, l]), b, (v) => set("b", v)),
    selectEl("ed-metric", "Show", [["rank", "Rank"], ["score", "Score"]], metric, (v) => set("metric", v)),
    selectEl("ed-sort", "Sort by", [["abs", "Absolute change"], ["rel", "Relative change"]], sortBy, (v) => set("sort", v)),
    selectEl("ed-n", "Biggest movers", [5, 10, 15, 20, 30, 91].map((k) => [String(k), k === 91 ? "All" : String(k)]), String(n), (v) => set("n", v)),
    el("label", { for: "ed-add" }, "Or chosen cities", cityAdd)),
    el("div", { id: "ed-chips" }, chosen.map((u) => el("span", { class: "chip" }, unitName(u), el("button", { type: "button", "aria-label": `Remove ${unitName(u)}`, onclick: () => set("units", chosen.filter((x) => x !== u).join(",")) }, "×")))));
  const gen = ROUTE_GEN;
  const res = await fetch(`/api/editions/diff?a=${encodeURIComponent(a)}&b=${encodeURIComponent(b)}`);
  const js = await res.json();
  if (gen !== ROUTE_GEN) return;   // the user navigated on meanwhile
  if (!res.ok) { main.append(el("p", { class: "banner" }, js.detail)); return; }
  const S = js.summary, rows = js.rows;
  main.append(el("div", { class: "kpis", id: "ed-summary" },
    el("div", {}, el("small", {}, "Moved up"), el("span", { class: "stat up", id: "ed-up" }, `${S.up}`)),
    el("div", {}, el("small", {}, "Unchanged"), el("span", { class: "stat" }, `${S.unchanged}`)),
    el("div", {}, el("small", {}, "Moved down"), el("span", { class: "stat down", id: "ed-down" }, `${S.down}`)),
    el("div", {}, el("small", {}, "Entries / exits"), el("span", { class: "stat" }, `${S.entries.length} / ${S.exits.length}`)),
    el("div", {}, el("small", {}, "Mean |rank change|"), el("span", { class: "stat" }, fmt(S.mean_abs_rank_change, 2))),
    el("div", {}, el("small", {}, "Gap rank 1 – rank 10"), el("span", { class: "stat" }, `${fmt(S.gap_1_10_a)} → ${fmt(S.gap_1_10_b)}`))));
  const key = (x) => metric === "rank" ? (sortBy === "abs" ? Math.abs(x.rank_change ?? 0) : Math.abs(x.rank_change ?? 0) / (x.rank_a || 1e9))
    : (sortBy === "abs" ? Math.abs(x.score_change ?? 0) : Math.abs(x.rel_score_change ?? 0));
  const both = rows.filter((x) => x.rank_a !== null && x.rank_b !== null);
  const sorted = both.slice().sort((x, y) => key(y) - key(x) || (x.rank_b - y.rank_b));
  const sel = chosen.length ? both.filter((x) => chosen.includes(x.unit)) : sorted.slice(0, n);
  const ya = (x) => metric === "rank" ? x.rank_a : x.score_a, yb = (x) => metric === "rank" ? x.rank_b : x.score_b;
  const colour = (x) => x.rank_change > 0 ? "#1a7f37" : (x.rank_change < 0 ? "#b42318" : "#8c959f");
  const chart = el("div", { class: "chart", id: "slope-chart", role: "img", style: `height:${Math.max(420, 22 * sel.length + 80)}px` });
  const altTxt = `Slope chart, ${metric} in ${a} (left) and ${b} (right) for ${sel.length} ${chosen.length ? "chosen cities" : "biggest movers by " + (sortBy === "abs" ? "absolute" : "relative") + " change"}: ` +
    sel.map((x) => `${x.name} ${metric === "rank" ? `${x.rank_a}→${x.rank_b}` : `${fmt(x.score_a)}→${fmt(x.score_b)}`}`).join("; ") + ".";
  chart.setAttribute("aria-label", altTxt);
  main.append(el("h2", {}, `Slope chart: ${a} → ${b}`), chart, el("p", { class: "muted", id: "slope-alt" }, altTxt));
  if (sel.length) withPlotly(chart, () => {
    const traces = sel.map((x) => ({ type: "scatter", mode: "lines+markers", x: [a, b], y: [ya(x), yb(x)], name: x.name, customdata: [x.unit, x.unit], line: { color: colour(x), width: 2 }, marker: { size: 7 },
      hovertemplate: `${x.name}: %{y:${metric === "rank" ? "d" : ".1f"}} in %{x}<extra></extra>`, showlegend: false }));
    // labels: placed at their point, then pushed apart vertically (relaxLabels) so that close ranks stay readable;
    // a label that had to move is tied to its point by a thin leader line
    const narrow = isNarrow();   // phone: more room for the labels on both sides, no tool bar over the top labels
    const H = Math.max(420, 22 * sel.length + 80), M = narrow ? { t: 20, b: 30, l: 34, r: 4 } : { t: 20, b: 30, l: 60, r: 20 }, plotH = H - M.t - M.b;
    const allY = sel.flatMap((x) => [ya(x), yb(x)]);
    let lo = Math.min(...allY), hi = Math.max(...allY);
    const pad = Math.max((hi - lo) * 0.04, metric === "rank" ? 0.6 : 0.5);
    lo -= pad; hi += pad;
    const range = metric === "rank" ? [hi, Math.max(0.4, lo)] : [lo, hi];   // [bottom, top]; a rank axis never shows 0
    const toPx = (y) => (range[1] - y) / (range[1] - range[0]) * plotH;   // from the top of the plot area
    const LINE_PX = 14;   // 11 px font + gap
    const ann = [];
    for (const side of [0, 1]) {
      const ys = sel.map((x) => toPx(side ? yb(x) : ya(x)));
      const placed = relaxLabels(ys, LINE_PX, 0, plotH);
      sel.forEach((x, i) => {
        const moved = Math.abs(placed[i] - ys[i]) > 1;
        const text = side ? `${metric === "rank" ? x.rank_b : fmt(x.score_b)} ${x.name} (${x.rank_change > 0 ? "▲" : (x.rank_change < 0 ? "▼" : "=")}${x.rank_change ? Math.abs(x.rank_change) : ""})`
          : `${x.name} ${metric === "rank" ? x.rank_a : fmt(x.score_a)}`;
        ann.push({ x: side, y: side ? yb(x) : ya(x), xanchor: side ? "left" : "right", yanchor: "middle", text, font: { size: narrow ? 10 : 11, color: colour(x) },
          showarrow: true, arrowhead: 0, arrowwidth: 0.6, arrowcolor: moved ? "#8c959f" : "rgba(0,0,0,0)", standoff: 2,
          ax: side ? 14 : -14, ay: placed[i] - ys[i] });
      });
    }
    Plotly.newPlot(chart, traces, { height: H, xaxis: { type: "category", range: narrow ? [-1.3, 2.5] : [-0.9, 1.9], fixedrange: true }, yaxis: Object.assign({ range, autorange: false, title: { text: narrow ? "" : (metric === "rank" ? "Rank (1 = best)" : "Score") } },
      metric === "rank" ? (({ tickmode, tick0, dtick, tickformat }) => ({ tickmode, tick0, dtick, tickformat }))(rankAxis(allY)) : {}),
      annotations: ann, margin: M }, plotConfig());
    chart.on && chart.on("plotly_click", (ev) => { const u = ev.points[0].customdata; if (u) location.hash = `#/city/${encodeURIComponent(u)}`; });
  });
  // per-city table (all cities, ordered by the chosen sort)
  const tableRows = sorted.concat(rows.filter((x) => x.rank_a === null || x.rank_b === null));
  const regionCol = D.group_roles.region;
  main.append(el("h2", {}, "Every city"), wrap(el("table", { id: "diff-table", "data-view": `${a}-${b}-${metric}-${sortBy}-${chosen.join("+")}` }, el("caption", { class: "sr-only" }, `Rank and score change from ${a} to ${b}`),
    el("thead", {}, el("tr", {}, ["City", ...(regionCol ? ["Region"] : []), `Rank ${a}`, `Rank ${b}`, "Change", `Score ${a}`, `Score ${b}`, "Score change", "Relative", "Status"].map((h, i) => el("th", { scope: "col", class: i === 0 || h === "Region" || h === "Status" ? "" : "num" }, h)))),
    el("tbody", {}, tableRows.map((x) => el("tr", { "data-unit": x.unit }, el("td", {}, el("a", { href: `#/city/${encodeURIComponent(x.unit)}` }, x.name)), regionCol ? el("td", { class: "muted" }, x[regionCol] ?? "") : null,
      el("td", { class: "num" }, x.rank_a ?? "–"), el("td", { class: "num" }, x.rank_b ?? "–"), el("td", { class: "num" }, x.rank_a === null ? fmtChange(null) : fmtChange(x.rank_change)),
      el("td", { class: "num" }, fmt(x.score_a)), el("td", { class: "num" }, fmt(x.score_b)), el("td", { class: "num" }, x.score_change === null ? "–" : `${x.score_change > 0 ? "+" : ""}${fmt(x.score_change, 2)}`),
      el("td", { class: "num" }, x.rel_score_change === null ? "–" : `${x.rel_score_change > 0 ? "+" : ""}${fmt(x.rel_score_change, 1)} %`), el("td", {}, x.status)))))),
    downloadBar(`editions_${a}_${b}`, () => tableRows, () => Object.keys(rows[0] || {})));
  if (S.by_group && S.by_group.length) {
    const g = S.group;
    main.append(el("h2", {}, `Averages by ${groupLabel(g).toLowerCase()}`), wrap(el("table", { id: "diff-groups" }, el("thead", {}, el("tr", {}, [groupLabel(g), "Cities", `Mean score ${a}`, `Mean score ${b}`, "Change", "Mean rank change"].map((h, i) => el("th", { scope: "col", class: i ? "num" : "" }, h)))),
      el("tbody", {}, S.by_group.map((x) => el("tr", {}, el("td", {}, groupValue(x[g])), el("td", { class: "num" }, x.n_b), el("td", { class: "num" }, fmt(x.score_a)), el("td", { class: "num" }, fmt(x.score_b)),
        el("td", { class: "num" }, `${x.score_change > 0 ? "+" : ""}${fmt(x.score_change, 2)}`), el("td", { class: "num" }, fmt(x.mean_rank_change, 2))))))),
      downloadBar(`editions_${a}_${b}_by_${g}`, () => S.by_group, () => Object.keys(S.by_group[0])));
  }
};

/** Vertical label de-overlap: positions y (px, any order) → positions at least `gap` apart and within [lo, hi],
 *  each as close to its own y as the others allow, in the same order. Simple relaxation: sort, push every
 *  too-close neighbour pair apart symmetrically until none overlaps (≤ 500 sweeps); then a forward pass
 *  (p_k ≥ max(lo, p_{k-1} + gap)) and a backward pass (p_k ≤ min(hi, p_{k+1} − gap)) enforce the bounds. */
function relaxLabels(y, gap, lo, hi) {
  const idx = y.map((_, i) => i).sort((a, b) => y[a] - y[b] || a - b);
  const p = idx.map((i) => y[i]);
  const n = p.length;
  if (n > 1 && gap * (n - 1) > hi - lo) gap = (hi - lo) / (n - 1);   // not enough room: spread evenly
  for (let sweep = 0; sweep < 500; sweep++) {
    let moved = false;
    for (let k = 1; k < n; k++) {
      const d = p[k] - p[k - 1];
      if (d < gap - 1e-6) { const push = (gap - d) / 2 + 1e-7; p[k - 1] -= push; p[k] += push; moved = true; }
    }
    if (!moved) break;
  }
  for (let k = 0; k < n; k++) p[k] = Math.max(p[k], k ? p[k - 1] + gap : lo);
  for (let k = n - 1; k >= 0; k--) p[k] = Math.min(p[k], k < n - 1 ? p[k + 1] - gap : hi);
  const out = new Array(n);
  idx.forEach((i, k) => { out[i] = p[k]; });
  return out;
}
window.relaxLabels = relaxLabels;

// ---------------------------------------------------------------------------------- Build your own index
function parseWeights(s) {
  const w = {};
  for (const kv of (s || "").split(",")) { const [k, v] = kv.split(":"); if (k && IX.node[k] && v !== undefined && !Number.isNaN(+v) && +v >= 0) w[k] = +v; }
  return w;
}
PAGES.weights = (main, r) => {
  const w = parseWeights(r.params.get("w"));
  main.append(el("h1", {}, "Build your own index"),
    el("div", { class: "banner", role: "note" }, "This is not the official ranking: it re-weights the published, normalised scores with your weights. ", el("a", { href: "#/ranking" }, "Published ranking")));
  const inBrowser = canRecomputeInBrowser();
  if (!inBrowser) main.append(el("p", { class: "banner" }, `The ${D.aggregation.method} aggregation is recomputed on the server.`));
  const cur = () => Object.assign({}, IX.baseWeights, w);
  const sliders = el("div", { class: "sliders", id: "sliders" });
  const sliderRow = (code) => {
    const n = IX.node[code];
    const id = `w-${code}`;
    const pct = el("span", { class: "num muted", "data-pct": code });
    const num = el("output", { for: id, class: "num" }, fmt(cur()[code], 2));
    const inp = el("input", { type: "range", id, min: "0", max: "5", step: "0.05", value: String(cur()[code]), "data-code": code, "aria-valuetext": `${fmt(cur()[code], 2)}` });
    inp.addEventListener("input", () => { w[code] = +inp.value; num.textContent = fmt(+inp.value, 2); inp.setAttribute("aria-valuetext", fmt(+inp.value, 2)); refresh(); });
    return [el("label", { for: id }, `${n.name} (${code})`), inp, num, pct];
  };
  sliders.append(el("strong", {}, "Pillar"), el("strong", {}, "Weight"), el("strong", {}, "Value"), el("strong", {}, "Share"));
  D.pillars.forEach((c) => sliders.append(...sliderRow(c)));
  const deeper = el("details", { id: "more-weights", open: D.pillars.length < 3 }, el("summary", {}, "Sub-pillar and indicator weights"));
  const deepGrid = el("div", { class: "sliders" });
  D.framework.filter((n) => n.parent && n.parent !== D.index).forEach((n) => deepGrid.append(...sliderRow(n.code)));
  deeper.append(deepGrid);
  const reset = el("button", { type: "button", id: "reset", onclick: () => { setHash("weights", null, new URLSearchParams(), false); } }, "Reset to published weights");
  const serverBtn = el("button", { type: "button", id: "server-check", class: "primary" }, "Recompute on the server");
  const timing = el("p", { class: "muted", id: "timing", "aria-live": "polite" });
  const warn = el("div", { id: "warnings" });
  const stats = el("div", { class: "kpis", id: "w-stats" });
  const table = el("table", { id: "weights-table" });
  const serverOut = el("p", { id: "server-out", "aria-live": "polite" });
  const ivBtn = el("button", { type: "button", id: "iv-btn", disabled: !D.meta.uncertainty }, "Recompute rank intervals for these weights");
  const ivN = el("select", { id: "iv-n", "aria-label": "Replications" }, [500, 1000, 2000, 5000].filter((k) => !D.meta.uncertainty || k <= D.meta.uncertainty.max_reps).map((k) => el("option", { value: String(k), selected: k === 1000 }, `${k} replications`)));
  const ivOut = el("p", { id: "iv-out", class: "muted", "aria-live": "polite" }, D.meta.uncertainty ? `Rank intervals: ${D.meta.uncertainty.notes.join("; ")}.` : "Rank intervals are not available for this index.");
  let intervals = null;   // {unit: {rank_lo, rank_hi}} for the weights in ivFor
  let driverTimer = null, driverMethod = null;
  let ivFor = null;
  main.append(el("div", { class: "grid" }, el("section", { class: "card" }, el("h3", {}, "Weights"), sliders, deeper, el("p", {}, reset, " ", serverBtn), timing, serverOut, el("p", {}, ivBtn, " ", ivN), ivOut),
    el("section", { class: "card" }, el("h3", {}, "What your weights do"), stats, warn)), el("h2", {}, "Your ranking"), wrap(table));
  let rows = [];
  const changedCodes = () => Object.keys(w).filter((k) => w[k] !== IX.baseWeights[k]);
  const driverNote = el("p", { class: "muted", id: "drivers-note" });
  table.before(driverNote);
  main.append(downloadBar("my_ranking", () => rows.map((x) => Object.assign({ weights: location.hash, driver: x.drivers && x.drivers.length ? driverLabel(x.drivers[0]) : null },
    ...(x.drivers || []).map((d) => ({ [`contribution_${d.code}`]: d.c })), x)),
  () => ["rank", "rank_lo", "rank_hi", "unit", "name", "score", "published_rank", "move", "score_change", "driver", ...changedCodes().map((c) => `contribution_${c}`)]));
  // pillar correlations (for the double-counting warning) computed once
  const pil = Object.fromEntries(D.pillars.map((c) => [c, Float64Array.from(D.units.map((u) => IX.scoreOf(u.unit, c) ?? NaN))]));

  serverBtn.addEventListener("click", async () => {
    serverOut.textContent = "Recomputing on the server…";
    const res = await fetch("/api/score", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ weights: w }) });
    const js = await res.json();
    if (!res.ok) { serverOut.textContent = `Server error: ${js.detail}`; return; }
    const mine = Object.fromEntries(rows.map((x) => [x.unit, x.rank]));
    const diff = js.ranking.filter((x) => inBrowser && mine[x.unit] !== x.rank).length;
    serverOut.textContent = inBrowser ? (diff ? `Server ranking differs for ${diff} units.` : `Server ranking agrees with the in-browser one (${js.ranking.length} units, Spearman vs published ${fmt(js.spearman_vs_published, 3)}).`) : `Server ranking received.`;
    if (!inBrowser) {
      const pw = js.drivers.published_weights;
      rows = js.ranking.map((x) => ({ unit: x.unit, name: x.name, score: x.score, rank: x.rank, published_rank: x.published_rank, move: x.move, score_change: x.score_change,
        drivers: x.drivers === null ? null : Object.entries(x.drivers).map(([code, c]) => ({ code, w0: pw[code], w1: js.weights[code], c })).sort((a, b) => Math.abs(b.c) - Math.abs(a.c)) }));
      driverMethod = js.drivers.method; drawTable();
    }
  });

  ivBtn.addEventListener("click", async () => {
    ivOut.textContent = "Running the Monte Carlo replications on the server…";
    const t0 = performance.now();
    const res = await fetch("/api/uncertainty", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ weights: w, n: +ivN.value }) });
    const js = await res.json();
    if (!res.ok) { ivOut.textContent = `Server error: ${js.detail}`; return; }
    intervals = Object.fromEntries(js.rows.map((x) => [x.unit, x]));
    ivFor = JSON.stringify(w);
    ivOut.textContent = `Rank intervals (5–95 %) for your weights: ${js.replications} replications computed in ${fmt(js.elapsed_ms, 0)} ms on the server (${fmt(performance.now() - t0, 0)} ms round trip). Choices: ${js.notes.join("; ")}.`;
    ivOut.dataset.ms = js.elapsed_ms;
    drawTable();
  });

  function refresh() {
    const q = new URLSearchParams(r.params);
    const changed = Object.entries(w).filter(([k, v]) => v !== IX.baseWeights[k]);
    if (changed.length) q.set("w", changed.map(([k, v]) => `${k}:${+v.toFixed(3)}`).join(",")); else q.delete("w");
    setHash("weights", null, q);
    const all = cur();
    const tot = D.pillars.reduce((a, c) => a + all[c], 0);
    document.querySelectorAll("[data-pct]").forEach((s) => {
      const c = s.dataset.pct, parent = IX.node[c].parent;
      const sib = IX.node[parent].children.reduce((a, k) => a + all[k], 0);
      s.textContent = sib > 0 ? `${(100 * all[c] / sib).toFixed(0)} %` : "–";
    });
    serverOut.textContent = "";   // a server check is about the weights it was run for: never left standing
    if (!inBrowser) { timing.textContent = "Press “Recompute on the server”."; return; }
    const t0 = performance.now();
    const vals = computeScores(w);
    const res = computeRanking(w, vals);
    const dt = performance.now() - t0;
    timing.dataset.ms = dt.toFixed(3);
    // weights that leave nothing to rank: say what is wrong and keep the last valid ranking on screen
    const invalid = tot <= 0 ? "All pillar weights are zero — set at least one above 0."
      : (res.every((x) => x.score === null) ? "Your weights leave no city with a score — set at least one weight above 0 in every group." : null);
    serverBtn.disabled = !!invalid; ivBtn.disabled = !!invalid || !D.meta.uncertainty;
    if (invalid) {
      clearTimeout(driverTimer);
      warn.replaceChildren(el("p", { class: "banner error", role: "alert", id: "weights-error" }, invalid, rows.length ? " The ranking below is still the one for your last valid weights." : ""));
      stats.replaceChildren(el("div", {}, el("small", {}, "Spearman vs published"), el("span", { class: "stat", id: "rho" }, "–")));
      return;
    }
    rows = res.map((x) => Object.assign({ name: unitName(x.unit) }, x)).sort((a, b) => (a.rank ?? 1e9) - (b.rank ?? 1e9) || a.unit.localeCompare(b.unit));
    const applyDrivers = () => {
      const t1 = performance.now();
      const dec = decomposeDrivers(w, vals);
      const ddt = performance.now() - t1;
      const pos = Object.fromEntries(D.units.map((u, i) => [u.unit, i]));
      for (const x of rows) { const i = pos[x.unit]; x.score_change = Number.isNaN(dec.delta[i]) ? null : dec.delta[i]; x.drivers = unitDrivers(dec, i); }
      driverMethod = dec.method;
      timing.dataset.driversMs = ddt.toFixed(3);
      timing.textContent = "";
    };
    clearTimeout(driverTimer);
    if (allArithmetic()) applyDrivers();   // exact and cheap: on every slider move
    else {   // Shapley values need up to 2^8 re-aggregations: once the slider rests
      timing.textContent = "";
      for (const x of rows) { x.score_change = x.score === null ? null : x.score - (IX.scoreOf(x.unit, D.index) ?? NaN); x.drivers = undefined; }
      driverTimer = setTimeout(() => { applyDrivers(); drawTable(); }, 150);
    }
    // stats
    const rho = spearman(res.map((x) => x.rank), res.map((x) => x.published_rank));
    const movers = rows.filter((x) => x.move).sort((a, b) => Math.abs(b.move) - Math.abs(a.move)).slice(0, 3);
    const idxScores = Float64Array.from(res.map((x) => x.score ?? NaN));
    stats.replaceChildren(
      el("div", {}, el("small", {}, "Spearman vs published"), el("span", { class: "stat", id: "rho" }, fmt(rho, 3))),
      el("div", {}, el("small", {}, "Units that moved"), el("span", { class: "stat", id: "n-moved" }, `${rows.filter((x) => x.move).length}`)),
      el("div", {}, el("small", {}, "Biggest moves"), movers.length ? movers.map((m) => el("div", {}, `${m.name} ${m.move > 0 ? "▲" : "▼"}${Math.abs(m.move)}`, m.drivers && m.drivers.length ? el("span", { class: "muted" }, ` (${driverLabel(m.drivers[0])})`) : null)) : "none"));
    const msgs = [];
    const active = D.pillars.filter((c) => all[c] > 0);
    for (let i = 0; i < active.length; i++) for (let j = i + 1; j < active.length; j++) {
      const c = pearson(pil[active[i]], pil[active[j]]);
      if (c > 0.8) msgs.push(`${nodeName(active[i])} and ${nodeName(active[j])} are strongly correlated (r = ${c.toFixed(2)}): weighting both counts much the same information twice.`);
    }
    for (const c of D.pillars) {
      const corr = pearson(pil[c], idxScores);
      if (tot > 0 && all[c] / tot < 0.05) msgs.push(`${nodeName(c)} has ${(100 * all[c] / tot).toFixed(1)} % of the weight: it barely affects the index.`);
      else if (!Number.isNaN(corr) && corr < 0.2) msgs.push(`${nodeName(c)} is weakly correlated with your index (r = ${corr.toFixed(2)}).`);
    }
    warn.replaceChildren(...(msgs.length ? msgs.map((m) => el("p", { class: "banner" }, m)) : [el("p", { class: "muted", id: "weights-ok" }, "No double-counting or near-zero weights detected.")]),
      el("p", { class: "muted" }, "Pillar–index correlations: " + D.pillars.map((c) => `${nodeName(c)} ${fmt(pearson(pil[c], idxScores), 2)}`).join(", ")));
    drawTable();
  }
  function drawTable() {
    const ivl = intervals && ivFor === JSON.stringify(w) ? intervals : null;   // stale intervals are not shown
    if (intervals && !ivl) ivOut.textContent = "The weights changed: press the button again for their rank intervals.";
    for (const x of rows) { const v = ivl && ivl[x.unit]; x.rank_lo = v ? v.rank_lo : null; x.rank_hi = v ? v.rank_hi : null; }
    const nChanged = changedCodes().length;
    driverNote.textContent = nChanged ? `“Driven by”: the weight change that moved the city's score most, in score points; open it for every weight's contribution. ${DRIVER_NOTE[driverMethod] || ""} A city moves up when its score gains more (or loses less) than the cities around it.` : "Move a slider: each city's score change is then split into the contributions of the weights you changed.";
    const driverCell = (x) => {
      if (x.drivers === undefined) return el("td", { class: "muted drv" }, nChanged ? "…" : "–");
      if (x.drivers === null) return el("td", { class: "muted drv", title: "your weights leave a node without any weighted data for this city, so the change cannot be split" }, "n/a");
      if (!x.drivers.length) return el("td", { class: "muted drv" }, "–");
      const top = x.drivers[0], total = x.drivers.reduce((a, d) => a + d.c, 0);
      const pop = el("div", { class: "drv-pop", role: "note" });
      const det = el("details", {}, el("summary", { title: `${nodeName(top.code)} weight ${fmt(top.w0, 2)} → ${fmt(top.w1, 2)}` }, driverLabel(top)), pop);
      det.addEventListener("toggle", () => { if (det.open && !pop.firstChild) pop.append(el("table", { class: "drv-table" },
          el("caption", {}, `${x.name}: score ${x.score_change >= 0 ? "+" : "−"}${fmt(Math.abs(x.score_change), 2)} points`),
          el("thead", {}, el("tr", {}, ["Weight", "From → to", "Points"].map((h, i) => el("th", { scope: "col", class: i ? "num" : "" }, h)))),
          el("tbody", {}, x.drivers.map((d) => el("tr", { "data-code": d.code }, el("td", {}, `${nodeName(d.code)} (${d.code})`), el("td", { class: "num" }, `${fmt(d.w0, 2)} → ${fmt(d.w1, 2)}`),
            el("td", { class: "num " + (d.c > 0 ? "up" : (d.c < 0 ? "down" : "")) }, `${d.c >= 0 ? "+" : "−"}${fmt(Math.abs(d.c), 2)}`)))),
          el("tfoot", {}, el("tr", {}, el("th", { scope: "row" }, "Total"), el("td", {}), el("td", { class: "num" }, `${total >= 0 ? "+" : "−"}${fmt(Math.abs(total), 2)}`))))); });
      return el("td", { class: "drv" }, det);
    };
    table.replaceChildren(el("caption", { class: "sr-only" }, "Your ranking with each unit's move against the published ranking and the weights that drove it"),
      el("thead", {}, el("tr", {}, ["Your rank", ...(ivl ? ["Rank 5–95 %"] : []), "City", "Score", "Published rank", "Move", "Score change", "Driven by"].map((h) => el("th", { scope: "col", class: h === "City" || h === "Move" || h === "Driven by" || h.startsWith("Rank 5") ? "" : "num" }, h)))),
      el("tbody", {}, rows.map((x) => el("tr", { "data-unit": x.unit }, el("td", { class: "num" }, x.rank ?? "–"), ivl ? el("td", { class: "ivl-td" }, intervalCell(x.rank_lo, x.rank_hi, x.rank, rows.length)) : null,
        el("td", {}, el("a", { href: `#/city/${encodeURIComponent(x.unit)}` }, x.name)),
        el("td", { class: "num" }, fmt(x.score)), el("td", { class: "num" }, x.published_rank ?? "–"),
        el("td", { class: x.move > 0 ? "up" : (x.move < 0 ? "down" : "muted") }, x.move ? `${x.move > 0 ? "▲" : "▼"} ${Math.abs(x.move)}` : "–"),
        el("td", { class: "num" }, x.score_change === null || x.score_change === undefined || Math.abs(x.score_change) < 5e-3 ? "–" : `${x.score_change > 0 ? "+" : "−"}${fmt(Math.abs(x.score_change), 2)}`),
        driverCell(x)))));
  }
  refresh();
};

// --------------------------------------------------------------------------------------------- Methodology
/** An indicator's definition: the spec's ``description`` when it has one, else its name, unit and source. */
function definition(n) {
  if (n.description) return n.description;
  return `${n.name || n.code}` + (n.unit ? `, in ${n.unit}` : "") + (n.source ? `; source: ${n.source}` : "") + `; ${n.direction > 0 ? "higher" : "lower"} is better.`;
}
PAGES.methodology = (main) => {
  main.append(el("h1", {}, "Methodology"));
  if (D.meta.description) main.append(el("p", {}, D.meta.description));
  const a = D.aggregation;
  main.append(el("p", {}, `Indicators are normalised, then aggregated up the tree by the ${a.method} mean` +
    (Object.keys(a.by_level).length ? ` (per level: ${Object.entries(a.by_level).map(([k, v]) => `level ${k} ${v}`).join(", ")})` : "") +
    ` with the weights below, renormalised over the children available for each unit` + (a.min_availability !== null ? `; a node needs ${100 * a.min_availability} % of its children` : "") +
    `. Ranks: 1 = best; equal scores share the better rank.` + (D.tiers ? ` Tiers by ${D.tiers.by}: cut-offs ${D.tiers.cutoffs.join(", ")} → ${D.tiers.labels.join(", ")}.` : "")),
    D.meta.excluded_units.length ? el("p", { class: "muted", id: "screened-out" }, `Screened out (too few indicators available): ${D.meta.excluded_units.map((u) => IX.ranking[u] ? IX.ranking[u].name : u).join(", ")}`) : "");
  const tree = (code) => {
    const n = IX.node[code];
    return el("li", { "data-code": n.code }, el("strong", {}, n.name), ` (${n.code})`, el("span", { class: "muted" }, n.parent ? ` — weight ${fmt(n.weight, 2)}, ${fmt(100 * (n.rescaled ?? 0), 1)} % of ${nodeName(n.parent)}, effective ${fmt(100 * (n.effective ?? 0), 2)} % of the index` : ""),
      n.children.length && n.description ? el("div", { class: "node-def" }, n.description) : null,   // indicators: Definition column below
      n.children.length ? el("ul", {}, n.children.map(tree)) : null);
  };
  main.append(el("h2", {}, "Framework"), el("div", { class: "tree", id: "fw-tree" }, el("ul", {}, tree(D.index))));
  const inds = D.framework.filter((n) => n.is_indicator);
  const cols = ["code", "name", "parent", "direction", "unit", "source", "description", "weight", "effective", "coverage"];
  main.append(el("h2", {}, "Indicators"), wrap(el("table", { id: "ind-table" },
    el("thead", {}, el("tr", {}, ["Code", "Name", "Pillar", "Direction", "Unit", "Source", "Definition", "Weight", "Effective weight", "Coverage"].map((h) => el("th", { scope: "col" }, h)))),
    el("tbody", {}, inds.map((n) => el("tr", {}, el("td", {}, n.code), el("td", {}, n.name), el("td", {}, nodeName(n.parent)), el("td", {}, n.direction > 0 ? "higher is better" : "lower is better"),
      el("td", {}, n.unit || ""), el("td", {}, n.source || ""), el("td", { class: "def" }, definition(n)), el("td", { class: "num" }, fmt(n.weight, 2)),
      el("td", { class: "num" }, `${fmt(100 * (n.effective ?? 0), 2)} %`), el("td", { class: "num", style: n.coverage !== undefined && n.coverage < 0.65 ? "color:#b42318" : "" }, n.coverage !== undefined ? `${fmt(100 * n.coverage, 0)} %` : "–")))))),
    el("p", { class: "muted" }, "Coverage below 65 % (the JRC rule of thumb) is shown in red."),
    downloadBar("indicators", () => inds.map((n) => Object.assign({}, n, { description: definition(n) })), () => cols));
  auditSection(main);
  publishedSection(main);  // compare-published block below
};

// --------------------------------------------------------------------------- Methodology → Audit (GET /api/audit)
const FACTOR_TEXT = { impute: "Imputation", treat: "Outlier treatment", normalise: "Normalisation", exclude: "Indicator exclusion", aggregate: "Aggregation", weights: "Weights", columns: "Modelled vs national values" };
const factorName = (f) => FACTOR_TEXT[f] || f;
const FLAG_TEXT = { skew_kurt: "skewed & heavy-tailed", availability: "low availability", zeros: "many zeros", unique: "few distinct values" };
const num = (x, nd = 2) => el("td", { class: "num" }, fmt(x, nd));
function auditTable(id, caption, heads, rows, cells) {
  return wrap(el("table", { id }, el("caption", {}, caption),
    el("thead", {}, el("tr", {}, heads.map((h) => el("th", { scope: "col", class: h.endsWith("#") ? "num" : "" }, h.replace(/#$/, ""))))),
    el("tbody", {}, rows.map(cells))));
}
/** The audit: flagged indicators, correlation flags, PC1/α per group, Sobol indices (chart + table), rank intervals. */
function auditSection(main) {
  const gen = ROUTE_GEN;
  const sec = el("section", { id: "audit", "aria-labelledby": "audit-h" }, el("h2", { id: "audit-h" }, "Audit"),
    el("p", { class: "muted", id: "audit-status" }, "Computing the audit (coherence statistics and Sobol indices)…"));
  main.append(sec);
  const top = el("p", {}, "On this page: ", el("a", { href: "#/methodology?section=framework", onclick: (e) => { e.preventDefault(); updateParam("section", null); document.getElementById("fw-tree").scrollIntoView(); } }, "Framework"), " · ",
    el("a", { href: "#/methodology?section=audit", id: "to-audit", onclick: (e) => { e.preventDefault(); updateParam("section", "audit"); sec.scrollIntoView(); } }, "Audit"));
  main.querySelector("h1").after(top);
  fetch("/api/audit").then(async (res) => {
    const A = await res.json();
    if (!res.ok) throw new Error(A.detail || res.status);
    if (gen !== ROUTE_GEN) return;
    const th = A.thresholds, C = A.counts;
    sec.querySelector("#audit-status").replaceWith(
      el("p", {}, `How well the data support the index (statistical coherence, as in the JRC audits and COINr) and how much the ranking depends on modelling choices (Monte Carlo uncertainty and Sobol sensitivity). ` +
        `Indicator statistics are on the raw data; correlations, principal components and Cronbach's α on the normalised indicators and aggregate scores.`),
      el("div", { class: "kpis", id: "audit-kpis" },
        el("div", {}, el("span", { class: "stat" }, C.indicators_flagged), el("small", {}, `of ${A.indicators.length} indicators flagged`)),
        el("div", {}, el("span", { class: "stat" }, C.collinear), el("small", {}, `collinear sibling pairs (r > ${th.collinear})`)),
        el("div", {}, el("span", { class: "stat" }, C.negative), el("small", {}, "negatively correlated sibling pairs")),
        el("div", {}, el("span", { class: "stat" }, C.low_alpha), el("small", {}, `groups with Cronbach's α < ${th.alpha}`)),
        el("div", {}, el("span", { class: "stat" }, C.units_low_availability), el("small", {}, `units with data availability < ${100 * th.availability} %`))),
      el("p", {}, "All audit tables in one workbook: ", el("a", { href: "/api/audit?format=xlsx", download: "audit.xlsx" }, "audit.xlsx"), " · JSON: ", el("a", { href: "/api/audit" }, "/api/audit")));

    // flagged indicators
    const flagged = A.indicators.filter((r) => r.flags.length);
    const indCols = ["indicator", "name", "parent", "n", "availability", "min", "max", "mean", "median", "sd", "skew", "kurtosis", "zero_share", "n_unique", "unique_share", "flags"];
    sec.append(el("h3", {}, "Flagged indicators"),
      el("p", { class: "muted" }, `Flags (COINr's rules): skewed & heavy-tailed when |skewness| > ${th.skew} and kurtosis > ${th.kurt}; low availability below ${100 * th.availability} %; many zeros above ${100 * th.zeros} %; few distinct values below ${100 * th.unique} % of the observations.`),
      flagged.length ? auditTable("audit-flags", `${flagged.length} of ${A.indicators.length} indicators raise a flag`, ["Code", "Name", "Pillar", "Availability#", "Skewness#", "Kurtosis#", "Zeros#", "Distinct#", "Flags"], flagged,
        (r) => el("tr", { "data-code": r.indicator }, el("td", {}, r.indicator), el("td", {}, r.name), el("td", {}, nodeName(r.parent)),
          el("td", { class: "num" }, `${fmt(100 * r.availability, 0)} %`), num(r.skew), num(r.kurtosis), el("td", { class: "num" }, `${fmt(100 * r.zero_share, 0)} %`), el("td", { class: "num" }, r.n_unique),
          el("td", {}, r.flags.map((f) => el("span", { class: "flag", "data-flag": f }, FLAG_TEXT[f] || f)))))
        : el("p", { id: "audit-flags" }, "No indicator raises a flag."),
      downloadBar("audit_indicators", () => A.indicators.map((r) => Object.assign({}, r, { flags: r.flags.join("; ") })), () => indCols));

    // correlation flags
    const cf = A.correlation_flags;
    sec.append(el("h3", {}, "Correlation flags"),
      el("p", { class: "muted" }, `Pairs with the same parent whose Pearson correlation exceeds ${th.collinear} (they may double-count one thing) or is negative (they pull the group in opposite directions).`),
      cf.length ? auditTable("audit-corr", `${C.collinear} collinear and ${C.negative} negative pairs`, ["Group", "Pair", "Pearson r#", "Spearman ρ#", "Units#", "Flag"], cf,
        (r) => el("tr", { "data-flag": r.flag }, el("td", {}, nodeName(r.group)), el("td", {}, `${nodeName(r.var1)} ~ ${nodeName(r.var2)}`), num(r.pearson), num(r.spearman), el("td", { class: "num" }, r.n),
          el("td", {}, el("span", { class: "flag", "data-flag": r.flag }, r.flag))))
        : el("p", { id: "audit-corr" }, "No collinear or negatively correlated sibling pairs."),
      downloadBar("audit_correlation_flags", () => cf, () => ["group", "var1", "var2", "level", "n", "pearson", "spearman", "flag"]));

    // PC1 and alpha per group
    const gr = A.groups;
    sec.append(el("h3", {}, "Coherence per group"),
      el("p", { class: "muted" }, `Variance explained by the first principal component of each group's children (high = they share one dimension) and Cronbach's α (internal consistency; below ${th.alpha} shown in red). Groups with one child have neither.`),
      auditTable("audit-groups", "Principal components and Cronbach's α", ["Group", "Level#", "Children#", "Units#", "PC1 variance explained#", "Cronbach's α#"], gr,
        (r) => el("tr", { "data-group": r.group }, el("td", {}, `${r.name} (${r.group})`), el("td", { class: "num" }, r.level), el("td", { class: "num" }, r.k), el("td", { class: "num" }, r.n),
          el("td", { class: "num" }, r.pc1_var_explained === null ? "–" : `${fmt(100 * r.pc1_var_explained, 1)} %`),
          el("td", { class: "num", style: r.flag_alpha ? "color:#b42318;font-weight:600" : "" }, fmt(r.cronbach_alpha, 2)))),
      downloadBar("audit_groups", () => gr, () => ["group", "name", "level", "k", "n", "pc1_var_explained", "cronbach_alpha", "flag_alpha"]));
    if (A.units_low_availability.length) sec.append(el("p", { id: "audit-units" }, `Units with data availability below ${100 * th.availability} %: ` + A.units_low_availability.map((u) => `${u.name || u.unit} (${fmt(100 * u.availability, 0)} %)`).join(", ") + "."));

    // Sobol
    sec.append(el("h3", {}, "Which modelling choices move the ranking"));
    if (A.sobol) {
      const S = A.sobol, info = A.sensitivity;
      const chart = el("div", { class: "chart", id: "audit-sobol", role: "img", style: `min-height:${120 + 60 * S.length}px` });
      const alt = `Sobol sensitivity indices of the mean absolute rank change of ${nodeName(info.target)} (N = ${info.N}, ${info.runs} runs): ` +
        S.map((r) => `${factorName(r.factor)}: total ${fmt(r.ST, 2)} [${fmt(r.ST_low, 2)}–${fmt(r.ST_high, 2)}], first order ${fmt(r.S1, 2)} [${fmt(r.S1_low, 2)}–${fmt(r.S1_high, 2)}]`).join("; ") + ".";
      chart.setAttribute("aria-label", alt);
      sec.append(el("p", { class: "muted" }, "Variance-based sensitivity: each uncertain choice's first-order index S", el("sub", {}, "1"), " (its share of the output variance alone) and total index S", el("sub", {}, "T"),
        ` (including its interactions with the others), for the mean absolute rank change against the published ranking; whiskers are ${info.interval} intervals. ` +
        `Saltelli design with N = ${info.N} (${info.runs} runs, computed in ${fmt(info.elapsed_ms / 1000, 2)} s on the server's first request).`), chart, el("p", { class: "muted", id: "audit-sobol-alt" }, alt),
        downloadBar("audit_sobol", () => S, () => ["factor", "S1", "S1_low", "S1_high", "ST", "ST_low", "ST_high"]));
      withPlotly(chart, () => {
        const y = S.map((r) => factorName(r.factor));
        const bar = (key, name, color) => ({ type: "bar", orientation: "h", name, y, x: S.map((r) => r[key]), marker: { color },
          error_x: { type: "data", symmetric: false, array: S.map((r) => r[key + "_high"] - r[key]), arrayminus: S.map((r) => r[key] - r[key + "_low"]), color: "#1d2430", thickness: 1.2, width: 4 },
          hovertemplate: `%{y}: ${name} %{x:.3f}<extra></extra>` });
        Plotly.newPlot(chart, [bar("ST", "Total order S<sub>T</sub>", "#0b5cad"), bar("S1", "First order S<sub>1</sub>", "#9cc3ea")],
          { barmode: "group", xaxis: { title: { text: "Sobol index (share of variance)" }, zeroline: true }, yaxis: { autorange: "reversed", automargin: true },
            legend: { orientation: "h", y: -0.25 }, margin: { t: 10, r: 20 }, height: 120 + 60 * S.length }, plotConfig());
      });
    } else sec.append(el("p", { id: "audit-sobol-none" }, `Sobol indices unavailable: ${A.sensitivity_error || "not computed"}.`));

    // rank intervals (the ranking page shows them per unit)
    if (A.rank_intervals) {
      const R = A.rank_intervals.filter((r) => r.rank_width !== null);
      const w = R.map((r) => r.rank_width).sort((a, b) => a - b);
      const med = w.length ? w[Math.floor((w.length - 1) / 2)] : null;
      const widest = [...R].sort((a, b) => b.rank_width - a.rank_width).slice(0, 5);
      sec.append(el("h3", {}, "Rank intervals"), el("p", { id: "audit-intervals" },
        `Over ${A.uncertainty.n} Monte Carlo replications (uncertain choices: ${(A.uncertainty.notes || []).join("; ")}), the median 5–95 % rank interval spans ${fmt(med, 1)} places; widest: ` +
        widest.map((r) => `${r.name || r.unit} ${fmt(r.rank_p05, 0)}–${fmt(r.rank_p95, 0)}`).join(", ") + ". ", el("a", { href: "#/ranking" }, "Every unit's interval is in the ranking table.")),
        downloadBar("audit_rank_intervals", () => A.rank_intervals, () => ["unit", "name", "nominal_rank", "rank_median", "rank_p05", "rank_p95", "rank_width", "nominal_score", "score_p05", "score_p95"]));
    }
    if (parseHash().params.get("section") === "audit") sec.scrollIntoView();
  }).catch((e) => { if (gen === ROUTE_GEN) { const s = sec.querySelector("#audit-status"); if (s) s.textContent = `Audit unavailable: ${e.message || e}`; } });
}

// ====================================================================================================
// BEGIN compare-published block: Methodology → "How our ranking compares with published rankings"
// (GET /api/compare-published; self-contained: one render function, called at the end of the Methodology page)
// ====================================================================================================
function publishedSection(main) {
  const gen = ROUTE_GEN;
  const sec = el("section", { id: "published", "aria-labelledby": "published-h" },
    el("h2", { id: "published-h" }, "How our ranking compares with published rankings"),
    el("p", { class: "muted", id: "published-status" }, "Loading the comparison…"));
  main.append(sec);
  fetch("/api/compare-published?top=3").then(async (res) => {
    const P = await res.json();
    if (!res.ok) throw new Error(P.detail || res.status);
    if (gen !== ROUTE_GEN) return;
    const L = P.lists;
    if (!L.some((c) => c.n_overlap > 0)) {  // an index of other units (countries, …): nothing to compare
      sec.querySelector("#published-status").replaceWith(el("p", { id: "published-none" },
        `None of the ${L.length} published fintech-city rankings shares a unit with this index. `, el("strong", {}, P.rule)));
      return;
    }
    sec.querySelector("#published-status").replaceWith(
      el("p", { id: "published-rule" }, el("strong", {}, P.rule), " The published ranks are quoted, with their source and edition, from the lists below; " +
        "only the cities and ranks a source states are used, and partial lists (a top 10, a top 5) are compared as such."),
      el("p", { class: "muted" }, "Within the cities both rankings contain (the overlap), each ranking is re-ranked 1…n; the gap is our place minus the published place. " +
        "Spearman's ρ is the rank correlation on the overlap (below 10 cities it is very uncertain). A city's gap is explained by its pillar and indicator contributions " +
        "(effective weight × score) minus those of the cities we order the other way; for arithmetic aggregation the pillar differences add up to the score difference exactly."));
    sec.append(auditTable("published-summary", "Published rankings and ours", ["List", "Edition", "Coverage", "Cities in both#", "Spearman ρ#", "In our top N#", "Source"], L,
      (c) => el("tr", { "data-list": c.list_id }, el("td", {}, c.list_name), el("td", {}, c.edition), el("td", {}, c.coverage),
        el("td", { class: "num" }, c.n_overlap), el("td", { class: "num", title: c.note }, c.spearman === null ? "–" : fmt(c.spearman, 2) + (c.n_overlap < 10 ? " *" : "")),
        el("td", { class: "num" }, `${c.in_our_top} of ${c.n_overlap} (N = ${c.max_published_rank})`),
        el("td", {}, c.sources.map((u, i) => el("a", { href: u, rel: "noopener noreferrer", target: "_blank" }, `[${i + 1}]`)).reduce((a, x) => a.concat([x, " "]), [])))),
      el("p", { class: "muted" }, "* fewer than 10 cities in common: read the ranks, not ρ. \"In our top N\": how many of the list's cities we also place within our top N, N being the list's lowest published rank."));
    for (const c of L) {
      if (!c.differences.length && !c.unmatched.length) continue;
      const d = el("details", { "data-list": c.list_id }, el("summary", {}, `${c.list_name}: largest differences`));
      if (c.differences.length) d.append(auditTable(`published-${c.list_id}`, `${c.list_name} (${c.edition}) vs ours`, ["City", "Published#", "Ours#", "Gap in overlap#", "Ordered the other way than", "Pillars (points vs them)", "Indicators (points)"], c.differences,
        (x) => {
          const k = x.swapped_with.length ? "delta_swapped" : "delta";
          return el("tr", { "data-unit": x.unit }, el("td", {}, x.name), el("td", { class: "num" }, x.published_rank), el("td", { class: "num" }, x.our_rank),
            el("td", { class: "num" }, (x.gap > 0 ? "+" : "") + fmt(x.gap, 1)), el("td", {}, x.swapped_with_names.slice(0, 5).join(", ") + (x.swapped_with_names.length > 5 ? ` +${x.swapped_with_names.length - 5} more` : "") || "(overlap mean)"),
            el("td", {}, x.pillars.map((p) => `${p.name} ${p[k] > 0 ? "+" : ""}${fmt(p[k], 1)}`).join(", ")),
            el("td", {}, x.indicators.map((i) => `${i.name} ${i[k] > 0 ? "+" : ""}${fmt(i[k], 1)}${i.missing ? " (missing)" : ""}`).join(", ")));
        }));
      if (c.unmatched.length) d.append(el("p", { class: "muted" }, "Not among our cities: " + c.unmatched.map((u) => `${u.name} (${u.published_rank})`).join(", ") + "."));
      sec.append(d);
    }
    sec.append(el("p", {}, "JSON: ", el("a", { href: "/api/compare-published" }, "/api/compare-published"), " · command line: ", el("code", {}, "hubindex compare-published")));
  }).catch((e) => { if (gen === ROUTE_GEN) { const s = sec.querySelector("#published-status"); if (s) s.textContent = `Comparison unavailable: ${e.message || e}`; } });
}
// ====================================================================================================
// END compare-published block
// ====================================================================================================

document.addEventListener("DOMContentLoaded", () => { init().catch((e) => { document.getElementById("main").textContent = "Could not load the index: " + e; }); });
