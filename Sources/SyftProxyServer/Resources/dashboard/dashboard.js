// The operator console: plain DOM, no framework, everything from /admin/* with the admin key
// the operator typed in (kept in this tab's sessionStorage only). Text always goes in through
// textContent, never as HTML, so request data cannot run as script.
"use strict";

const POLL_MS = 2000;
const HISTORY_SECONDS = 300;
const history = [];
let key = sessionStorage.getItem("syft-proxy-admin-key") || "";
let timer = null;

const $ = (id) => document.getElementById(id);

function setStatus(text, kind) {
  const status = $("key-status");
  status.textContent = text;
  status.className = kind || "";
}

async function api(method, path, body) {
  const options = { method, headers: { "X-API-Key": key } };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const response = await fetch(path, options);
  let data = null;
  try { data = await response.json(); } catch (_) { data = null; }
  if (!response.ok) {
    const detail = data && typeof data.detail === "string" ? data.detail : "HTTP " + response.status;
    const error = new Error(detail);
    error.status = response.status;
    throw error;
  }
  return data;
}

function cell(row, text, className) {
  const td = document.createElement("td");
  td.textContent = text === null || text === undefined ? "" : String(text);
  if (className) td.className = className;
  row.appendChild(td);
  return td;
}

function button(label, className, onClick) {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = label;
  b.className = "small " + (className || "");
  b.addEventListener("click", onClick);
  return b;
}

function fill(tableID, rows, render, empty) {
  const body = $(tableID).querySelector("tbody");
  body.replaceChildren();
  if (rows.length === 0) {
    const tr = document.createElement("tr");
    const td = cell(tr, empty, "muted");
    td.colSpan = $(tableID).querySelectorAll("th").length;
    body.appendChild(tr);
    return;
  }
  for (const item of rows) {
    const tr = document.createElement("tr");
    render(tr, item);
    body.appendChild(tr);
  }
}

const seconds = (value) => (value === null || value === undefined ? "" : value < 1 ? (value * 1000).toFixed(1) + " ms" : value.toFixed(2) + " s");
const age = (value) => (value === null || value === undefined ? "" : value < 60 ? value.toFixed(0) + " s" : (value / 60).toFixed(1) + " min");
const time = (iso) => (iso ? new Date(iso).toLocaleTimeString() : "");

async function act(label, promise) {
  try {
    await promise;
    $("action-status").textContent = label + ": done";
  } catch (error) {
    $("action-status").textContent = label + ": " + error.message;
  }
  refresh();
}

function renderReplicas(data) {
  $("replica-count").textContent = "(" + data.replicas.length + ")";
  fill("replicas", data.replicas, (tr, r) => {
    cell(tr, r.id, "id");
    cell(tr, r.version);
    cell(tr, r.address);
    cell(tr, r.in_flight);
    cell(tr, r.round_trips_per_second.toFixed(1));
    cell(tr, seconds(r.p50_seconds));
    cell(tr, seconds(r.p99_seconds));
    cell(tr, age(r.seconds_since_seen) + " ago");
  }, "no replica heartbeats yet");
  const now = Date.now() / 1000;
  let rate = 0, p99 = 0;
  for (const r of data.replicas) {
    rate += r.round_trips_per_second;
    if (r.p99_seconds !== null && r.p99_seconds > p99) p99 = r.p99_seconds;
  }
  history.push({ t: now, rate, p99 });
  while (history.length && history[0].t < now - HISTORY_SECONDS) history.shift();
  drawChart();
}

function svg(name, attributes) {
  const element = document.createElementNS("http://www.w3.org/2000/svg", name);
  for (const [k, v] of Object.entries(attributes)) element.setAttribute(k, v);
  return element;
}

function drawChart() {
  const width = 800, height = 180, pad = 36;
  const root = svg("svg", { viewBox: "0 0 " + width + " " + height, role: "img" });
  const now = Date.now() / 1000;
  // The axis spans what has been seen, from a minute up to HISTORY_SECONDS.
  const span = Math.min(HISTORY_SECONDS, Math.max(60, history.length ? now - history[0].t : 0));
  const maxRate = Math.max(1, ...history.map((p) => p.rate));
  const maxP99 = Math.max(0.001, ...history.map((p) => p.p99));
  const x = (t) => pad + ((t - (now - span)) / span) * (width - 2 * pad);
  const line = (value, max) => history.map((p) => x(p.t).toFixed(1) + "," + (height - pad - (value(p) / max) * (height - 2 * pad)).toFixed(1)).join(" ");
  root.appendChild(svg("line", { x1: pad, y1: height - pad, x2: width - pad, y2: height - pad, class: "axis" }));
  root.appendChild(svg("line", { x1: pad, y1: pad, x2: pad, y2: height - pad, class: "axis" }));
  if (history.length > 1) {
    root.appendChild(svg("polyline", { points: line((p) => p.rate, maxRate), class: "rate" }));
    root.appendChild(svg("polyline", { points: line((p) => p.p99, maxP99), class: "p99" }));
  }
  const label = (text, lx, ly, anchor) => {
    const t = svg("text", { x: lx, y: ly, "text-anchor": anchor || "start" });
    t.textContent = text;
    root.appendChild(t);
  };
  label(maxRate.toFixed(1) + " rt/s", pad + 4, pad - 8);
  label("p99 " + seconds(maxP99), width - pad, pad - 8, "end");
  label("-" + (span >= 120 ? (span / 60).toFixed(0) + " min" : span.toFixed(0) + " s"), pad, height - pad + 16);
  label("now", width - pad, height - pad + 16, "end");
  const last = history[history.length - 1];
  if (last) label(last.rate.toFixed(1) + " rt/s now, p99 " + seconds(last.p99), width / 2, height - 8, "middle");
  $("chart").replaceChildren(root);
}

function renderQueues(data) {
  $("queue-count").textContent = "(" + data.queues.length + ")";
  fill("queues", data.queues, (tr, q) => {
    cell(tr, q.mode);
    cell(tr, q.app_name || (q.shard !== null ? "shard " + q.shard : ""));
    cell(tr, q.destination || "");
    cell(tr, q.depth);
    cell(tr, age(q.oldest_age_seconds));
    const actions = cell(tr, "");
    if (q.mode === "pull" && q.app_name && q.destination) {
      actions.appendChild(button("purge", "danger purge", () => {
        if (confirm("Fail every queued request of " + q.app_name + " for " + q.destination + " as purged?")) {
          act("purge " + q.app_name, api("POST", "/admin/queues/purge", { app_name: q.app_name, destination: q.destination }));
        }
      }));
    }
  }, "no queued work");
}

function renderEndpoints(data) {
  $("endpoint-count").textContent = "(" + data.endpoints.length + ")";
  fill("endpoints", data.endpoints, (tr, e) => {
    const health = e.health || {};
    cell(tr, e.mode);
    cell(tr, e.app_name);
    cell(tr, e.destination);
    cell(tr, e.push_url || "");
    cell(tr, time(e.pull_consumer_last_seen));
    cell(tr, time(health.last_success));
    const error = cell(tr, health.last_error ? time(health.last_error) + " " + (health.last_error_message || "") : "", health.last_error ? "error" : "");
    error.title = health.last_error_message || "";
    cell(tr, health.consecutive_failures === undefined ? "" : health.consecutive_failures, health.consecutive_failures > 0 ? "state-failed" : "");
  }, "no endpoints or consumers");
}

function renderFailed(data) {
  $("failed-count").textContent = "(" + data.failed.length + (data.next_cursor ? "+" : "") + ")";
  fill("failed", data.failed, (tr, r) => {
    tr.dataset.id = r.id;
    cell(tr, r.id, "id");
    cell(tr, r.app_name);
    cell(tr, r.destination);
    cell(tr, r.failure_class || "");
    cell(tr, r.error, "error");
    cell(tr, time(r.completed_at));
    const actions = cell(tr, "");
    const retry = button("retry", "retry", () => act("retry " + r.id, api("POST", "/admin/failed/" + encodeURIComponent(r.id) + "/retry")));
    retry.dataset.id = r.id;
    actions.appendChild(retry);
    actions.appendChild(button("delete", "secondary delete", () => act("delete " + r.id, api("DELETE", "/admin/failed/" + encodeURIComponent(r.id)))));
  }, "no failed requests");
}

function renderRequests(data) {
  fill("requests", data.requests, (tr, r) => {
    tr.dataset.id = r.id;
    const id = cell(tr, r.id, "id");
    id.addEventListener("click", () => { $("search-input").value = r.id; showTimeline(r.id); });
    cell(tr, r.app_name);
    cell(tr, r.func_name);
    cell(tr, r.destination);
    cell(tr, r.status, "state-" + r.status);
    cell(tr, r.attempts);
    cell(tr, time(r.created_at));
    const actions = cell(tr, "");
    if (r.status === "pending" || r.status === "processing") {
      const cancel = button("cancel", "danger cancel", () => act("cancel " + r.id, api("POST", "/admin/requests/" + encodeURIComponent(r.id) + "/cancel")));
      cancel.dataset.id = r.id;
      actions.appendChild(cancel);
    }
  }, "no requests");
}

async function showTimeline(id) {
  const result = $("search-result");
  result.replaceChildren();
  try {
    const r = await api("GET", "/admin/requests/" + encodeURIComponent(id));
    const head = document.createElement("p");
    head.textContent = r.id + " - " + r.app_name + "." + r.func_name + " for " + r.destination + ": " + r.status +
      (r.error ? " (" + (r.failure_class || "") + ": " + r.error + ")" : "");
    const list = document.createElement("ol");
    list.className = "timeline";
    for (const e of r.timeline) {
      const li = document.createElement("li");
      const what = document.createElement("span");
      what.className = "event";
      what.textContent = e.event;
      li.append(time(e.at) + " ", what, e.detail ? " - " + e.detail : "");
      list.appendChild(li);
    }
    result.append(head, list);
  } catch (error) {
    const p = document.createElement("p");
    p.className = "state-failed";
    p.textContent = error.message;
    result.appendChild(p);
  }
}

async function refresh() {
  try {
    const [replicas, queues, endpoints, failed, requests] = await Promise.all([
      api("GET", "/admin/replicas"), api("GET", "/admin/queues"), api("GET", "/admin/endpoints"),
      api("GET", "/admin/failed?limit=20"),
      api("GET", "/admin/requests?limit=20" + ($("requests-state").value ? "&state=" + $("requests-state").value : "")),
    ]);
    $("main").hidden = false;
    setStatus("Connected: " + replicas.replicas.length + " replica(s); answered by " + replicas.answered_by + ".", "ok");
    renderReplicas(replicas);
    renderQueues(queues);
    renderEndpoints(endpoints);
    renderFailed(failed);
    renderRequests(requests);
  } catch (error) {
    if (error.status === 401 || error.status === 403 || error.status === 404) {
      stop();
      $("main").hidden = true;
      setStatus("Key refused: " + error.message, "refused");
    } else {
      setStatus("Cannot reach the proxy: " + error.message + " (retrying)", "refused");
    }
  }
}

function start() {
  stop();
  refresh();
  timer = setInterval(refresh, POLL_MS);
}

function stop() {
  if (timer) clearInterval(timer);
  timer = null;
}

document.addEventListener("DOMContentLoaded", () => {
  $("key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    key = $("key-input").value.trim();
    sessionStorage.setItem("syft-proxy-admin-key", key);
    setStatus("Checking the key...", "");
    start();
  });
  $("key-forget").addEventListener("click", () => {
    key = "";
    sessionStorage.removeItem("syft-proxy-admin-key");
    stop();
    $("main").hidden = true;
    setStatus("Enter an admin key (PROXY_ADMIN_KEYS) to see this deployment.", "");
  });
  $("requests-state").addEventListener("change", () => { if (timer) refresh(); });
  $("search-form").addEventListener("submit", (event) => {
    event.preventDefault();
    showTimeline($("search-input").value.trim());
  });
  if (key) start();
});
