// DOM building for the page. Every value from the service goes in as text (textContent), never as HTML: a payee,
// network or error message that looks like markup is shown as the characters it is.

export function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value !== undefined && value !== null) {
      node.setAttribute(name, String(value));
    }
  }
  for (const child of children) {
    node.append(child instanceof Node ? child : document.createTextNode(child === undefined || child === null ? "" : String(child)));
  }
  return node;
}

export function setText(id, text) {
  document.getElementById(id).textContent = text;
}

export function setBadge(id, state, text) {
  const badge = document.getElementById(id);
  badge.dataset.state = state;
  badge.textContent = text;
}

function milliseconds(value) {
  return value === undefined || value === null ? "–" : Number(value).toFixed(value < 10 ? 1 : 0);
}

/**
 * The upstreams in priority order with their health, whether they take traffic (the first healthy one does, and any
 * whose call count grew since the last poll), success rate, latency percentiles, hedges, networks and last error.
 */
export function renderUpstreams(tbody, status, previousTotals) {
  const health = new Map((status.health?.facilitators ?? []).map((f) => [f.id, f]));
  const stats = new Map((status.statistics?.facilitators ?? []).map((f) => [f.id, f]));
  const order = [...(status.config?.facilitators ?? [])].sort((a, b) => a.priority - b.priority).map((f) => f.id);
  for (const id of health.keys()) {
    if (!order.includes(id)) {
      order.push(id);
    }
  }
  const primary = order.find((id) => health.get(id)?.enabled && health.get(id)?.isHealthy);
  const totals = new Map();
  const rows = order.map((id, index) => {
    const h = health.get(id) ?? {};
    const s = stats.get(id);
    const total = s?.operations?.total ?? 0;
    totals.set(id, total);
    const grew = previousTotals.has(id) && total > previousTotals.get(id);
    const state = !h.enabled ? "disabled" : h.isHealthy ? "healthy" : "unhealthy";
    const traffic = !h.enabled || !h.isHealthy ? "no" : id === primary || grew ? "taking traffic" : "standby";
    const p = s?.performance;
    return element("tr", { "data-upstream": id, "data-health": state },
      element("td", {}, index + 1),
      element("td", {}, element("b", {}, id), h.name && h.name !== id ? element("div", { class: "muted" }, h.name) : ""),
      element("td", { class: "health", "data-health": state }, state, h.consecutiveFailures ? element("div", { class: "muted" }, `${h.consecutiveFailures} failure${h.consecutiveFailures === 1 ? "" : "s"} in a row`) : ""),
      element("td", { class: "traffic" }, traffic),
      element("td", {}, h.successRate ?? "–", element("div", { class: "muted" }, `${h.totalSuccesses ?? 0} ok / ${h.totalFailures ?? 0} failed`)),
      element("td", { class: "mono" }, p ? `${milliseconds(p.p50Ms)} / ${milliseconds(p.p95Ms)} / ${milliseconds(p.p99Ms)}` : "–"),
      element("td", {}, s ? `${s.hedging.fired} / ${s.hedging.won}` : "–"),
      element("td", { class: "mono" }, h.networks ? h.networks.join(", ") : "not known yet"),
      element("td", { class: "error" }, h.lastError ?? h.disabledReason ?? ""));
  });
  tbody.replaceChildren(...rows);
  return totals;
}

export function renderFigures(container, overview) {
  const figure = (label, value) => element("div", {}, element("span", { class: "muted" }, label), element("b", {}, value));
  container.replaceChildren(
    figure("volume", "$" + overview.totalVolume),
    figure("fees", "$" + overview.totalFees),
    figure("payments", overview.totalPayments),
    figure("average settlement", `${Math.round(overview.averageSettlementTime)} ms`));
}

function short(address) {
  return typeof address === "string" && address.length > 14 ? address.slice(0, 8) + "…" + address.slice(-4) : address ?? "";
}

export function feedRow(event) {
  const data = event.data ?? {};
  const time = new Date(event.timestamp ?? Date.now()).toLocaleTimeString();
  const kind = String(event.type ?? "");
  let detail = "";
  if (kind === "payment:failed") {
    detail = `${data.operation ?? ""} ${data.error ?? ""}${data.judgedBy ? " by " + data.judgedBy : ""}${data.message ? ": " + data.message : ""}`;
  } else if (kind === "payment:settled") {
    detail = `${data.transaction ?? ""} by ${data.settledBy ?? ""}`;
  } else if (kind === "payment:verified") {
    detail = `by ${data.verifiedBy ?? ""} in ${data.verificationTime ?? "?"} ms`;
  } else if (kind === "payment:received") {
    detail = data.operation ?? "";
  } else if (kind.startsWith("facilitator:")) {
    detail = `${data.facilitatorId ?? ""} ${data.error ?? ""}`;
  }
  const amount = data.amount !== undefined ? `${data.amount} ${data.symbol ?? ""}` : "";
  return element("tr", { "data-kind": kind, "data-network": data.network ?? "", "data-payee": String(data.payee ?? "").toLowerCase() },
    element("td", {}, time),
    element("td", {}, kind),
    element("td", { class: "mono" }, data.network ?? ""),
    element("td", { class: "mono", title: data.payer ?? "" }, short(data.payer)),
    element("td", { class: "mono payee" }, data.payee ?? ""),
    element("td", {}, amount),
    element("td", { class: "mono" }, detail));
}
