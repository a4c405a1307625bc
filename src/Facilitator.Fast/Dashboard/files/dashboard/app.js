// The status page: upstreams and rates from one status request per interval (GET /api/facilitator-status, the
// service's in-memory snapshot), the /v1 figures once a minute, and the live event feed from the WebSocket.

import { ApiClient, loadSettings } from "./api.js";
import { EventFeed } from "./feed.js";
import { RateWindow, rateChart, revenueChart } from "./charts.js";
import { feedRow, renderFigures, renderUpstreams, setBadge, setText } from "./view.js";

const analyticsIntervalMs = 60000;
const feedLimit = 200;

const verifies = new RateWindow(3);
const settles = new RateWindow(3);
const edge = new RateWindow(2);

let settings;
let api;
let feed = null;
let charts = null;
let timers = [];
let previousTotals = new Map();
let previousEdge = null;
let refreshSoon = 0;
let analyticsSoon = 0;

function showSignIn(reason) {
  document.getElementById("main").hidden = true;
  document.getElementById("sign-out").hidden = true;
  document.getElementById("sign-in").hidden = false;
  setText("sign-in-reason", reason);
  document.getElementById("key").focus();
}

function showProblem(text) {
  const problem = document.getElementById("problem");
  problem.hidden = !text;
  problem.textContent = text ?? "";
}

function stop() {
  timers.forEach(clearInterval);
  timers = [];
  if (feed) {
    feed.stop();
    feed = null;
  }
}

async function refreshStatus() {
  const status = await api.get("/api/facilitator-status?include=health,stats,config");
  previousTotals = renderUpstreams(document.querySelector("#upstreams tbody"), status, previousTotals);
  const summary = status.health?.summary;
  if (summary) {
    const state = summary.healthy === 0 ? "unhealthy" : summary.unhealthy > 0 ? "degraded" : "healthy";
    setBadge("service-state", state, `${summary.healthy}/${summary.total - summary.disabled} upstreams healthy`);
  }
  const now = Date.now();
  const counts = [status.statistics?.failovers ?? 0, status.statistics?.rateLimited ?? 0];
  if (previousEdge) {
    counts.forEach((count, i) => edge.add(i, now, Math.max(0, count - previousEdge[i])));
  }
  previousEdge = counts;
  setText("updated", "updated " + new Date(status.timestamp).toLocaleTimeString());
  showProblem(null);
}

async function refreshAnalytics() {
  const [overview, revenue] = await Promise.all([api.get("/v1/analytics/overview"), api.get("/v1/analytics/revenue?period=30d")]);
  renderFigures(document.getElementById("figures"), overview);
  charts.revenue.setData([
    revenue.buckets.map((b) => b.start / 1000),
    revenue.buckets.map((b) => Number(b.volume)),
    revenue.buckets.map((b) => b.payments),
  ]);
}

function redrawRates() {
  const now = Date.now();
  charts.verifies.setData(verifies.data(now));
  charts.settles.setData(settles.data(now));
  charts.edge.setData(edge.data(now));
}

function matchesFilter(row) {
  const network = document.getElementById("filter-network").value.trim().toLowerCase();
  const payee = document.getElementById("filter-payee").value.trim().toLowerCase();
  return (!network || row.dataset.network.toLowerCase().includes(network)) && (!payee || row.dataset.payee.includes(payee));
}

function applyFilter() {
  const rows = document.querySelectorAll("#feed tbody tr");
  let shown = 0;
  rows.forEach((row) => {
    row.hidden = !matchesFilter(row);
    shown += row.hidden ? 0 : 1;
  });
  setText("feed-count", `${shown} of ${rows.length} shown (the last ${feedLimit} kept)`);
}

function addToFeed(event) {
  const tbody = document.querySelector("#feed tbody");
  const row = feedRow(event);
  row.hidden = !matchesFilter(row);
  tbody.prepend(row);
  while (tbody.children.length > feedLimit) {
    tbody.lastElementChild.remove();
  }
  applyFilter();
}

function onEvent(event) {
  const type = event.type;
  const data = event.data ?? {};
  const at = event.timestamp ?? Date.now();
  if (type === "stats:update") {
    settles.set(2, at, data.pendingSettlements ?? 0);
    return;
  }
  if (type === "payment:verified") {
    verifies.add(0, at);
  } else if (type === "payment:settled") {
    settles.add(0, at);
    // The figures follow settlements, at most one refresh a second whatever the rate.
    if (!analyticsSoon) {
      analyticsSoon = setTimeout(() => {
        analyticsSoon = 0;
        refreshAnalytics().catch(() => {});
      }, 1000);
    }
  } else if (type === "payment:failed") {
    if (data.operation === "settle") {
      settles.add(1, at);
    } else {
      verifies.add(data.judgedBy === "local" ? 1 : 2, at);
    }
  } else if (type?.startsWith("facilitator:")) {
    clearTimeout(refreshSoon);
    refreshSoon = setTimeout(() => refreshStatus().catch(() => {}), 250);
  } else if (type !== "lagged") {
    return;
  }
  addToFeed(event);
}

async function open() {
  stop();
  try {
    await refreshStatus();
  } catch (error) {
    if (error.status === 401 || error.status === 403) {
      api.credential = null;
      showSignIn(error.message);
    } else {
      showProblem("The status API could not be read: " + error.message);
    }
    return;
  }
  document.getElementById("sign-in").hidden = true;
  document.getElementById("main").hidden = false;
  document.getElementById("sign-out").hidden = !api.credential;
  if (!charts) {
    charts = {
      verifies: rateChart(document.getElementById("chart-verifies"), ["valid", "rejected locally", "rejected upstream"]),
      settles: rateChart(document.getElementById("chart-settles"), ["settled", "failed", { label: "pending", scale: "count" }]),
      edge: rateChart(document.getElementById("chart-edge"), ["failovers", "429s"]),
      revenue: revenueChart(document.getElementById("chart-revenue")),
    };
  }
  redrawRates();
  refreshAnalytics().catch((error) => showProblem("The /v1 analytics could not be read: " + error.message));
  if (settings.eventsPath) {
    feed = new EventFeed(settings.eventsPath, api.credential, onEvent, (state, text) => setBadge("feed-state", state, text));
    feed.start();
  } else {
    setBadge("feed-state", "closed", "feed: the event stream is off (Events:Enabled)");
  }
  timers.push(setInterval(() => {
    refreshStatus().catch((error) => {
      setBadge("service-state", "error", "status API unreachable");
      showProblem("The status API could not be read: " + error.message);
    });
    redrawRates();
  }, settings.statusIntervalMs));
  timers.push(setInterval(() => refreshAnalytics().catch(() => {}), analyticsIntervalMs));
}

async function main() {
  try {
    settings = await loadSettings();
  } catch (error) {
    showProblem(error.message);
    return;
  }
  api = new ApiClient(settings);
  document.getElementById("sign-in").addEventListener("submit", (submit) => {
    submit.preventDefault();
    const input = document.getElementById("key");
    api.credential = input.value.trim();
    input.value = "";
    open();
  });
  document.getElementById("sign-out").addEventListener("click", () => {
    stop();
    api.credential = null;
    showSignIn("The key was forgotten.");
  });
  document.getElementById("filter-network").addEventListener("input", applyFilter);
  document.getElementById("filter-payee").addEventListener("input", applyFilter);
  await open();
}

main();
