// chi-lite page: talks to the server's JSON endpoints (docs/serve-protocol.md) and draws SVG itself.
"use strict";

const $ = (id) => document.getElementById(id);
const SVG_NS = "http://www.w3.org/2000/svg";
const KELVIN_OFFSET = 273.15;
let curvePoints = 41; // temperatures on the χ(T) curve: one predict request, so at most the server's max_batch

// ---------------------------------------------------------------------------------------------
// Talking to the server

let routes = {}; // op -> {path, method}, from GET /ops

async function call(op, payload) {
  const route = routes[op] || { path: "/" + op, method: payload ? "POST" : "GET" };
  const init = { method: route.method, headers: {} };
  if (route.method === "POST") {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(payload || {});
  }
  let response;
  try {
    response = await fetch(route.path, init);
  } catch (exc) {
    throw new FormError("cannot reach the chi-lite server (is it still running?)");
  }
  let body;
  try {
    body = await response.json();
  } catch (exc) {
    throw new FormError(`the server answered ${response.status} without JSON`);
  }
  if (body.error !== undefined) throw new FormError(body.error);
  return body.result;
}

class FormError extends Error {}

// ---------------------------------------------------------------------------------------------
// Small helpers

function fmt(value, digits = 4) {
  if (value === null || value === undefined) return "—";
  if (typeof value === "boolean") return value ? "yes" : "no";
  if (typeof value === "number") {
    if (!Number.isFinite(value)) return "—";
    if (Number.isInteger(value)) return String(value);
    const abs = Math.abs(value);
    if (abs !== 0 && (abs < 1e-3 || abs >= 1e6)) return value.toExponential(digits - 1);
    return value.toFixed(digits);
  }
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

function el(tag, attrs = {}, text) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

function svg(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

function trimmed(id) {
  return $(id).value.trim();
}

function unitIsKelvin(id) {
  return $(id).value === "K";
}

// A number the user typed goes to the server as typed, so its refusal reads like the CLI's.
function numberField(text) {
  const value = Number(text);
  return text !== "" && Number.isFinite(value) ? value : text;
}

function download(filename, text, type) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const link = el("a", { href: url, download: filename });
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

// ---------------------------------------------------------------------------------------------
// Errors next to the field they concern

// Which field a server message is about; the words themselves are shown unchanged.
function fieldFor(message, sent, fields) {
  const text = message.toLowerCase();
  const rules = [
    ["solvents", /'solvents'|library/],
    ["solvent", /solvent/],
    ["polymer", /polymer|repeat unit|'\*'/],
    ["temperature", /temperature|absolute zero|kelvin|tmin|tmax/],
    ["chain_length", /chain/],
    ["top", /'top'/],
    ["tests", /test/],
  ];
  for (const [field, pattern] of rules) {
    if (fields[field] && pattern.test(text)) return field;
  }
  for (const field of Object.keys(fields)) {
    const value = sent[field];
    if (typeof value === "string" && value && message.includes(`'${value}'`)) return field;
  }
  return null;
}

function clearErrors(form) {
  for (const node of form.querySelectorAll(".error")) node.textContent = "";
  for (const node of form.querySelectorAll("[aria-invalid]")) node.removeAttribute("aria-invalid");
}

function showError(form, exc, sent, fields) {
  const message = exc instanceof FormError ? exc.message : `unexpected page error: ${exc.message}`;
  const field = fieldFor(message, sent, fields);
  const [inputId, errorId] = field ? fields[field] : [null, form.dataset.formError];
  $(errorId).textContent = message;
  if (inputId) {
    $(inputId).setAttribute("aria-invalid", "true");
    $(inputId).focus();
  }
}

async function submitting(form, work) {
  const button = form.querySelector("button[type=submit]");
  clearErrors(form);
  button.disabled = true;
  try {
    await work();
  } finally {
    button.disabled = false;
  }
}

// ---------------------------------------------------------------------------------------------
// SVG charts

function niceTicks(lo, hi, count = 6) {
  const span = hi - lo || 1;
  const raw = span / count;
  const power = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * power).find((s) => s >= raw);
  const ticks = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

// A plot frame with axes; returns the svg and the data→pixel maps.
function chartFrame(box, xRange, yRange, xLabel, yLabel, title) {
  const W = 640, H = 360, left = 62, right = 16, top = 12, bottom = 66;
  const [x0, x1] = xRange, [y0, y1] = yRange;
  const sx = (x) => left + ((x - x0) / (x1 - x0)) * (W - left - right);
  const sy = (y) => H - bottom - ((y - y0) / (y1 - y0)) * (H - top - bottom);
  const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": title });
  root.appendChild(svg("title", {}, title));
  for (const t of niceTicks(x0, x1)) {
    root.appendChild(svg("line", { class: "grid", x1: sx(t), x2: sx(t), y1: top, y2: H - bottom }));
    root.appendChild(svg("text", { x: sx(t), y: H - bottom + 16, "text-anchor": "middle" }, fmtTick(t)));
  }
  for (const t of niceTicks(y0, y1)) {
    root.appendChild(svg("line", { class: "grid", x1: left, x2: W - right, y1: sy(t), y2: sy(t) }));
    root.appendChild(svg("text", { x: left - 6, y: sy(t) + 4, "text-anchor": "end" }, fmtTick(t)));
  }
  root.appendChild(svg("line", { class: "axis", x1: left, x2: W - right, y1: H - bottom, y2: H - bottom }));
  root.appendChild(svg("line", { class: "axis", x1: left, x2: left, y1: top, y2: H - bottom }));
  root.appendChild(svg("text", { x: (left + W - right) / 2, y: H - bottom + 34, "text-anchor": "middle" }, xLabel));
  root.appendChild(svg("text", { x: 14, y: (top + H - bottom) / 2, "text-anchor": "middle",
    transform: `rotate(-90 14 ${(top + H - bottom) / 2})` }, yLabel));
  box.replaceChildren(root);
  return { root, sx, sy, W, H, left, right, top, bottom };
}

function fmtTick(t) {
  return Math.abs(t) >= 1000 || Number.isInteger(t) ? String(Math.round(t * 1e6) / 1e6) : String(Number(t.toPrecision(4)));
}

function path(points, sx, sy) {
  return points.map(([x, y], i) => `${i ? "L" : "M"}${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join("");
}

function legend(frame, entries) {
  // one row under the x axis, so it never hides a curve
  let x = frame.left;
  const y = frame.H - 8;
  for (const [cls, label] of entries) {
    const sample = cls === "band" || cls === "two-phase"
      ? svg("rect", { class: cls, x, y: y - 9, width: 20, height: 10 })
      : cls === "marker" || cls === "cpoint"
        ? svg("circle", { class: cls, cx: x + 10, cy: y - 4, r: 4 })
        : svg("line", { class: cls, x1: x, x2: x + 20, y1: y - 4, y2: y - 4 });
    frame.root.appendChild(sample);
    frame.root.appendChild(svg("text", { x: x + 25, y }, label));
    x += 25 + 6.6 * label.length + 16;
  }
}

// ---------------------------------------------------------------------------------------------
// Tabs (arrow keys move between them, as screen readers expect)

function selectTab(tab) {
  for (const other of document.querySelectorAll('[role="tab"]')) {
    const on = other === tab;
    other.setAttribute("aria-selected", String(on));
    other.tabIndex = on ? 0 : -1;
    $(other.getAttribute("aria-controls")).hidden = !on;
  }
}

function setUpTabs() {
  const tabs = () => [...document.querySelectorAll('[role="tab"]')].filter((t) => !t.hidden);
  for (const tab of document.querySelectorAll('[role="tab"]')) {
    tab.addEventListener("click", () => selectTab(tab));
    tab.addEventListener("keydown", (event) => {
      const list = tabs();
      const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
      if (step === undefined) return;
      const next = list[(list.indexOf(tab) + step + list.length) % list.length];
      selectTab(next);
      next.focus();
      event.preventDefault();
    });
  }
}

// ---------------------------------------------------------------------------------------------
// Predict

const PREDICT_FIELDS = {
  polymer: ["p-polymer", "p-polymer-error"],
  solvent: ["p-solvent", "p-solvent-error"],
  temperature: ["p-temperature", "p-temperature-error"],
  chain_length: ["p-chain", "p-chain-error"],
};
// Shown in their own places; every other field the server sends lands in "All fields".
const DOMAIN_LABELS = { in: "in domain", near: "near the edge of the training data", out: "outside the training data" };

function predictRequest() {
  const request = {
    polymer: trimmed("p-polymer"),
    solvent: trimmed("p-solvent"),
    temperature: numberField(trimmed("p-temperature")),
    kelvin: unitIsKelvin("p-unit"),
  };
  const chain = trimmed("p-chain");
  if (chain) request.chain_length = numberField(chain);
  return request;
}

async function runPredict(event) {
  event.preventDefault();
  const form = $("predict-form");
  const request = predictRequest();
  await submitting(form, async () => {
    let result;
    try {
      result = await call("predict", request);
    } catch (exc) {
      $("p-result").hidden = true; // never leave an earlier answer beside a refused question
      showError(form, exc, request, PREDICT_FIELDS);
      return;
    }
    showPrediction(result, request);
    try {
      drawChiCurve(result, await call("predict", curveRequest(result, request)), request);
    } catch (exc) {
      $("p-chart").replaceChildren();
      $("p-chart-caption").textContent = `no χ(T) curve: ${exc.message}`;
    }
  });
}

function verdictOf(result) {
  // One verdict when the server sends `miscible`; the probability beside it is the one it rests on.
  const probability = result.p_miscible_fh ?? result.p_miscible;
  if (typeof result.miscible === "boolean") {
    const basis = result.p_miscible_fh !== undefined ? ` (χ below χ_c(N) = ${fmt(result.chi_critical)})` : "";
    return { yes: result.miscible, text: result.miscible ? `miscible${basis}` : "not miscible", probability };
  }
  if (typeof result.p_miscible === "number") {
    return { yes: result.p_miscible >= 0.5, text: result.p_miscible >= 0.5 ? "soluble" : "not soluble", probability };
  }
  const yes = result.chi < 0.5;
  return { yes, text: yes ? "χ below 0.5, the long-chain critical value" : "χ above 0.5, the long-chain critical value" };
}

function showPrediction(result, request) {
  $("p-result").hidden = false;
  const chi = $("p-chi");
  chi.textContent = `${fmt(result.chi)} ± ${fmt(result.chi_std)}`;
  chi.dataset.chi = String(result.chi);
  chi.dataset.chiStd = String(result.chi_std);

  const verdict = verdictOf(result);
  const line = $("p-verdict");
  line.className = "verdict " + (verdict.yes ? "yes" : "no");
  line.textContent = verdict.probability === undefined
    ? verdict.text
    : `${verdict.text} (probability it dissolves: ${(100 * verdict.probability).toFixed(0)} %)`;

  const domain = $("p-domain");
  domain.hidden = result.domain === undefined;
  if (result.domain !== undefined) {
    domain.className = "domain " + result.domain;
    const label = DOMAIN_LABELS[result.domain] || result.domain;
    domain.textContent = result.domain_note ? `Domain: ${label} — ${result.domain_note}` : `Domain: ${label}`;
  }
  const sign = result.B < 0 ? "−" : "+";
  $("p-equation").textContent = `χ(T) = ${fmt(result.A)} ${sign} ${fmt(Math.abs(result.B), 2)} K / T`;
  const extra = [];
  if (result.t_dissolve !== undefined && result.t_dissolve !== null) {
    extra.push(`crystalline polymer: dissolves above about ${fmt(result.t_dissolve, 1)} °C`);
  }
  if (result.p_miscible_fh !== undefined && result.p_miscible !== undefined) {
    extra.push(`classifier probability of dissolving: ${(100 * result.p_miscible).toFixed(0)} %`);
  }
  $("p-extra").textContent = extra.join("; ");

  const table = $("p-fields");
  table.replaceChildren();
  for (const [key, value] of Object.entries(result)) {
    const row = el("tr");
    row.appendChild(el("th", { scope: "row" }, key));
    row.appendChild(el("td", { class: typeof value === "number" ? "num" : "" }, fmt(value, 6)));
    table.appendChild(row);
  }
}

// χ(T) over 0–150 °C (widened to include the asked temperature), at the same pair and chain length.
function curveRequest(result, request) {
  const t = result.temperature_k;
  const lo = Math.max(1, Math.min(KELVIN_OFFSET, t - 20));
  const hi = Math.max(KELVIN_OFFSET + 150, t + 20);
  const pairs = [];
  for (let i = 0; i < curvePoints; i++) {
    pairs.push({ polymer: request.polymer, solvent: request.solvent, temperature: lo + ((hi - lo) * i) / (curvePoints - 1) });
  }
  const out = { pairs, kelvin: true };
  if (request.chain_length !== undefined) out.chain_length = request.chain_length;
  return out;
}

function drawChiCurve(result, curve, request) {
  const kelvin = request.kelvin;
  const toUnit = (k) => (kelvin ? k : k - KELVIN_OFFSET);
  const rows = curve.filter((r) => r.error === undefined && Number.isFinite(r.chi));
  const xs = rows.map((r) => toUnit(r.temperature_k));
  const lower = rows.map((r) => r.chi - (r.chi_std || 0));
  const upper = rows.map((r) => r.chi + (r.chi_std || 0));
  const chiC = result.chi_critical ?? 0.5;
  const yLo = Math.min(...lower, chiC), yHi = Math.max(...upper, chiC);
  const pad = (yHi - yLo) * 0.08 || 0.1;
  const unit = kelvin ? "K" : "°C";
  const frame = chartFrame($("p-chart"), [Math.min(...xs), Math.max(...xs)], [yLo - pad, yHi + pad],
    `temperature (${unit})`, "χ", `χ(T) of ${request.polymer} in ${request.solvent}`);
  const { root, sx, sy } = frame;
  const band = xs.map((x, i) => [x, upper[i]]).concat(xs.map((x, i) => [x, lower[i]]).reverse());
  root.appendChild(svg("path", { class: "band", d: path(band, sx, sy) + "Z" }));
  root.appendChild(svg("path", { class: "chi", d: path(xs.map((x, i) => [x, rows[i].chi]), sx, sy) }));
  root.appendChild(svg("path", { class: "critical", d: path([[xs[0], chiC], [xs[xs.length - 1], chiC]], sx, sy) }));
  root.appendChild(svg("circle", { class: "marker", cx: sx(toUnit(result.temperature_k)), cy: sy(result.chi), r: 5 }));
  const chiCLabel = result.chi_critical !== undefined ? `χ_c(N = ${fmt(result.chain_length, 0)}) = ${fmt(chiC, 3)}` : "χ_c(N → ∞) = 0.5";
  legend(frame, [["chi", "χ(T)"], ["band", "± σ"], ["critical", chiCLabel], ["marker", "your temperature"]]);
  $("p-chart-caption").textContent = "Below the dashed line the pair mixes at every composition (Flory–Huggins); the band is the model's ± σ.";
}

// ---------------------------------------------------------------------------------------------
// Phase diagram

const PHASE_FIELDS = {
  polymer: ["f-polymer", "f-polymer-error"],
  solvent: ["f-solvent", "f-solvent-error"],
  chain_length: ["f-chain", "f-chain-error"],
  temperature: ["f-tmin", "f-temperature-error"],
};

async function runPhase(event) {
  event.preventDefault();
  const form = $("phase-form");
  const request = {
    polymer: trimmed("f-polymer"),
    solvent: trimmed("f-solvent"),
    chain_length: numberField(trimmed("f-chain")),
    tmin: numberField(trimmed("f-tmin")),
    tmax: numberField(trimmed("f-tmax")),
    kelvin: unitIsKelvin("f-unit"),
  };
  await submitting(form, async () => {
    try {
      drawPhase(await call("phase", request), request.kelvin);
    } catch (exc) {
      $("f-result").hidden = true;
      showError(form, exc, request, PHASE_FIELDS);
    }
  });
}

function drawPhase(d, kelvin) {
  $("f-result").hidden = false;
  const sign = d.B < 0 ? "−" : "+";
  $("f-summary").textContent = `χ(T) = ${fmt(d.A)} ${sign} ${fmt(Math.abs(d.B), 2)} K / T;  χ_c = ${fmt(d.chi_critical)} at φ_c = ${fmt(d.phi_critical)} (N = ${fmt(d.chain_length, 0)})`;
  $("f-behaviour").textContent = d.description || d.behaviour;
  const unit = kelvin ? "K" : "°C";
  const toUnit = (p) => (kelvin ? p.temperature_k : p.temperature_c);
  const ts = d.points.map(toUnit);
  const frame = chartFrame($("f-chart"), [0, 1], [Math.min(...ts), Math.max(...ts)], "polymer volume fraction φ",
    `temperature (${unit})`, `Phase diagram of ${d.polymer} in ${d.solvent}`);
  const { root, sx, sy } = frame;
  const two = d.points.filter((p) => p.binodal_poor !== null && p.binodal_rich !== null);
  const entries = [];
  if (two.length) {
    const poor = two.map((p) => [p.binodal_poor, toUnit(p)]);
    const rich = two.map((p) => [p.binodal_rich, toUnit(p)]);
    root.appendChild(svg("path", { class: "two-phase", d: path(poor.concat([...rich].reverse()), sx, sy) + "Z" }));
    root.appendChild(svg("path", { class: "binodal", d: path(poor, sx, sy) }));
    root.appendChild(svg("path", { class: "binodal", d: path(rich, sx, sy) }));
    const spin = two.filter((p) => p.spinodal_poor !== null && p.spinodal_rich !== null);
    root.appendChild(svg("path", { class: "spinodal", d: path(spin.map((p) => [p.spinodal_poor, toUnit(p)]), sx, sy) }));
    root.appendChild(svg("path", { class: "spinodal", d: path(spin.map((p) => [p.spinodal_rich, toUnit(p)]), sx, sy) }));
    entries.push(["two-phase", "two phases"], ["binodal", "binodal"], ["spinodal", "spinodal"]);
  } else {
    root.appendChild(svg("text", { x: (frame.left + frame.W - frame.right) / 2, y: frame.H / 2, "text-anchor": "middle" },
      `one phase over the whole range (${d.behaviour})`));
  }
  if (d.critical_in_range) {
    const tc = kelvin ? d.critical_temperature_k : d.critical_temperature_c;
    root.appendChild(svg("circle", { class: "cpoint", cx: sx(d.phi_critical), cy: sy(tc), r: 4.5 }));
    entries.push(["cpoint", `critical point (${d.critical_kind} ${fmt(tc, 1)} ${unit})`]);
  }
  if (entries.length) legend(frame, entries);
}

// ---------------------------------------------------------------------------------------------
// Screen

const SCREEN_FIELDS = {
  polymer: ["s-polymer", "s-polymer-error"],
  temperature: ["s-temperature", "s-temperature-error"],
  chain_length: ["s-chain", "s-chain-error"],
  top: ["s-top", "s-top-error"],
  solvents: ["s-solvents", "s-solvents-error"],
};
const SCREEN_FIRST = ["rank", "name", "smiles", "chi", "chi_std", "p_miscible", "miscible", "chi_critical", "t_dissolve", "domain", "domain_note"];
const COLUMN_LABELS = { chi: "χ", chi_std: "σ", p_miscible: "P(soluble)", chi_critical: "χ_c(N)", t_dissolve: "T_dissolve (°C)", domain_note: "domain note" };
let screenRows = [];
let screenColumns = [];
let screenSort = { column: "rank", ascending: true };
let screenLines = []; // position in the request -> line of the text box

function screenRequest() {
  const request = {
    polymer: trimmed("s-polymer"),
    temperature: numberField(trimmed("s-temperature")),
    kelvin: unitIsKelvin("s-unit"),
    top: numberField(trimmed("s-top")),
  };
  const chain = trimmed("s-chain");
  if (chain) request.chain_length = numberField(chain);
  screenLines = [];
  if ($("s-mine").checked) {
    const solvents = [];
    $("s-solvents").value.split(/\r?\n/).forEach((line, i) => {
      if (line.trim()) {
        solvents.push(line.trim());
        screenLines.push(i + 1);
      }
    });
    request.solvents = solvents;
  }
  return request;
}

async function runScreen(event) {
  event.preventDefault();
  const form = $("screen-form");
  const request = screenRequest();
  await submitting(form, async () => {
    try {
      if (request.solvents !== undefined && !request.solvents.length) {
        throw new FormError("'solvents' must be a non-empty list of SMILES or names");
      }
      showScreen(await call("screen", request));
    } catch (exc) {
      $("s-result").hidden = true;
      showError(form, exc, request, SCREEN_FIELDS);
    }
  });
}

function textLine(line) {
  return screenLines.length ? screenLines[line - 1] ?? line : line;
}

function showScreen(result) {
  $("s-result").hidden = false;
  screenRows = result.rows.map((row) => ({ ...row, line: textLine(row.line) }));
  const keys = new Set(screenRows.flatMap((row) => Object.keys(row)));
  screenColumns = SCREEN_FIRST.filter((k) => keys.has(k)).concat([...keys].filter((k) => !SCREEN_FIRST.includes(k)));
  screenSort = { column: "rank", ascending: true };
  const t = result.temperature_k;
  $("s-summary").textContent = `${result.rows.length} best of ${result.rows_read} solvents for ${result.polymers.join(", ")} at ${fmt(t - KELVIN_OFFSET, 2)} °C (${fmt(t, 2)} K), ranked by ${result.sort}.`;
  renderScreenTable();
  const bad = $("s-bad-list");
  bad.replaceChildren(...result.bad_rows.map((b) => el("li", {}, `line ${textLine(b.line)}: ${b.error}`)));
  $("s-bad").hidden = !result.bad_rows.length;
  $("s-solvents-error").textContent = result.bad_rows.length
    ? `${result.bad_rows.length} line(s) could not be screened; see below the table` : "";
}

function sortValue(value) {
  return value === null || value === undefined ? Infinity : value;
}

function renderScreenTable() {
  const { column, ascending } = screenSort;
  const rows = [...screenRows].sort((a, b) => {
    const x = sortValue(a[column]), y = sortValue(b[column]);
    const order = typeof x === "string" || typeof y === "string" ? String(x).localeCompare(String(y)) : x - y;
    return ascending ? order : -order;
  });
  const table = $("s-table");
  const head = el("tr");
  for (const key of screenColumns) {
    const th = el("th", { scope: "col" });
    if (key === column) th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    const button = el("button", { type: "button", "data-column": key, title: `sort by ${key}` }, COLUMN_LABELS[key] || key);
    button.addEventListener("click", () => {
      screenSort = { column: key, ascending: screenSort.column === key ? !screenSort.ascending : true };
      renderScreenTable();
      table.querySelector(`button[data-column="${key}"]`).focus();
    });
    th.appendChild(button);
    head.appendChild(th);
  }
  const body = rows.map((row) => {
    const tr = el("tr");
    for (const key of screenColumns) {
      tr.appendChild(el("td", { class: typeof row[key] === "number" ? "num" : "" }, fmt(row[key])));
    }
    return tr;
  });
  table.replaceChildren(el("thead"), el("tbody"));
  table.tHead.appendChild(head);
  table.tBodies[0].replaceChildren(...body);
}

function csvCell(value) {
  const text = value === null || value === undefined ? "" : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function screenCsv() {
  const lines = [screenColumns.map(csvCell).join(",")];
  for (const row of screenRows) lines.push(screenColumns.map((k) => csvCell(row[k])).join(","));
  return lines.join("\r\n") + "\r\n";
}

function loadFileInto(input, target) {
  const file = input.files[0];
  if (!file) return;
  file.text().then((text) => {
    $(target).value = text;
  });
}

// ---------------------------------------------------------------------------------------------
// Calibrate: only when the server says it has the op (GET /ops)

const CALIBRATE_FIELDS = {
  polymer: ["c-polymer", "c-polymer-error"],
  tests: ["c-tests", "c-tests-error"],
};
let profile = null;

function parseCsv(text) {
  const rows = text.split(/\r?\n/).filter((line) => line.trim()).map((line) => line.split(",").map((c) => c.trim()));
  const header = rows.shift() || [];
  return rows.map((cells) => Object.fromEntries(header.map((h, i) => [h, numberField(cells[i] ?? "")])));
}

async function runCalibrate(event) {
  event.preventDefault();
  const form = $("calibrate-form");
  const request = { polymer: trimmed("c-polymer"), tests: parseCsv($("c-tests").value) };
  await submitting(form, async () => {
    try {
      $("c-result").hidden = true;
      profile = await call("calibrate", request);
      $("c-result").hidden = false;
      const table = $("c-fields");
      table.replaceChildren(...Object.entries(profile).map(([k, v]) => {
        const row = el("tr");
        row.appendChild(el("th", { scope: "row" }, k));
        row.appendChild(el("td", {}, fmt(v)));
        return row;
      }));
    } catch (exc) {
      showError(form, exc, request, CALIBRATE_FIELDS);
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Start-up

async function start() {
  setUpTabs();
  for (const form of document.querySelectorAll("form")) form.dataset.formError = form.querySelector(".actions .error").id;
  $("predict-form").addEventListener("submit", runPredict);
  $("phase-form").addEventListener("submit", runPhase);
  $("screen-form").addEventListener("submit", runScreen);
  $("calibrate-form").addEventListener("submit", runCalibrate);
  $("s-download").addEventListener("click", () => download("chi-lite-screen.csv", screenCsv(), "text/csv"));
  $("c-download").addEventListener("click", () => download("chi-lite-profile.json", JSON.stringify(profile, null, 2), "application/json"));
  $("s-file").addEventListener("change", () => loadFileInto($("s-file"), "s-solvents"));
  $("c-file").addEventListener("change", () => loadFileInto($("c-file"), "c-tests"));
  for (const radio of document.querySelectorAll('input[name="library"]')) {
    radio.addEventListener("change", () => { $("s-mine-box").hidden = !$("s-mine").checked; });
  }
  const status = $("server-status");
  try {
    const ops = await call("ops");
    for (const [path, { method, op }] of Object.entries(ops.http)) routes[op] = { path, method };
    $("tab-calibrate").hidden = !ops.ops.includes("calibrate");
    curvePoints = Math.max(2, Math.min(curvePoints, ops.max_batch || curvePoints));
    $("tab-screen").hidden = !ops.ops.includes("screen");
    const health = await call("health");
    $("model-line").textContent = `chi-lite ${health.version}, model ${health.model_sha256.slice(0, 12)}`;
    const names = await call("names");
    fillNames("polymer-names", names.polymers);
    fillNames("solvent-names", names.solvents);
    status.textContent = "Ready. Names from the built-in tables are suggested as you type; any SMILES works too.";
  } catch (exc) {
    status.textContent = exc.message;
  }
  document.body.dataset.ready = "true";
}

function fillNames(id, entries) {
  const list = $(id);
  list.replaceChildren(...entries.map((e) => el("option", {
    value: e.name,
    label: [e.aliases.join(", "), e.smiles].filter(Boolean).join(" · "),
  })));
}

start();
