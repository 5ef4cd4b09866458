// The statistics page: risk distribution, acceptance by category and by Hawkeye point, decisions over
// time, and for admins (every document) model usage and the estimated cost. Each chart has its table.
import { api, describeError } from "./api.js";
import { chart } from "./charts.js";
import { clear, el, setError } from "./dom.js";

const root = document.getElementById("statistics");
const all = root.dataset.scope === "all";
const query = all ? "?scope=all" : "";
document.getElementById("stats-download-csv").href = `/api/stats${query}${query ? "&" : "?"}format=csv`;
document.getElementById("stats-download-json").href = `/api/stats${query}${query ? "&" : "?"}format=json`;

function acceptance(id, title, byKey, caption, nameOf = (k) => k) {
  const keys = Object.keys(byKey);
  const figure = chart({ id, title, stacked: true, caption, labels: keys.map(nameOf), series: [
    { label: "Accepted", data: keys.map((k) => byKey[k].accepted), colour: "#1e8449" },
    { label: "Rejected", data: keys.map((k) => byKey[k].rejected), colour: "#c0392b" },
  ] });
  return keys.length ? withRates(figure, keys.map((k) => byKey[k].rate)) : figure;
}

// The rate goes in the table only (a percentage does not stack with counts on one axis).
function withRates(figure, rates) {
  const table = figure.querySelector("table");
  table.tHead.rows[0].append(el("th", { scope: "col" }, "Acceptance rate"));
  [...table.tBodies[0].rows].forEach((row, i) => row.append(el("td", {}, rates[i] === null ? "–" : `${Math.round(rates[i] * 100)}%`)));
  return figure;
}

async function load() {
  const charts = document.getElementById("charts");
  try {
    const s = await api("GET", `/api/stats${query}`);
    const names = JSON.parse(root.dataset.hawkeye || "{}");
    document.getElementById("stats-totals").textContent =
      `${s.documents} documents, ${s.items} feedback items: ${s.accepted} accepted, ${s.rejected} rejected, ${s.custom} written by reviewers.`;
    const bands = s.risk_distribution.bands;
    const figures = [
      chart({ id: "chart-risk", title: "Risk score distribution", caption: "Risk score", labels: Object.keys(bands),
        series: [{ label: "Documents", data: Object.values(bands) }] }),
      acceptance("chart-category", "Acceptance by category", s.acceptance_by_category, "Category"),
      acceptance("chart-hawkeye", "Acceptance by Hawkeye point", s.acceptance_by_hawkeye_point, "Hawkeye point",
        (k) => `#${k} ${names[k] || ""}`.trim()),
      chart({ id: "chart-time", title: "Decisions over time", type: "line", caption: "Day (UTC)",
        labels: s.decisions_over_time.map((d) => d.day), series: [
          { label: "Accepted", data: s.decisions_over_time.map((d) => d.accept), colour: "#1e8449" },
          { label: "Rejected", data: s.decisions_over_time.map((d) => d.reject), colour: "#c0392b" },
          { label: "Added by reviewers", data: s.decisions_over_time.map((d) => d.create), colour: "#2f6fde" },
          { label: "Edited", data: s.decisions_over_time.map((d) => d.edit), colour: "#b9770e" },
        ] }),
    ];
    if (s.risk_distribution.not_scored) {
      figures[0].append(el("p", { class: "muted small" }, `${s.risk_distribution.not_scored} documents are not scored yet.`));
    }
    if (s.model_usage) {
      const models = Object.keys(s.model_usage);
      const usage = chart({ id: "chart-models", title: "Model usage", caption: "Model", labels: models, series: [
        { label: "Calls", data: models.map((m) => s.model_usage[m].calls) },
        { label: "Successful calls", data: models.map((m) => s.model_usage[m].successes) },
      ] });
      const cost = chart({ id: "chart-cost", title: "Estimated cost (US$, list prices)", caption: "Model", labels: models, integer: false, series: [
        { label: "Estimated cost (US$)", data: models.map((m) => s.model_usage[m].estimated_cost_usd) },
      ] });
      cost.append(el("p", { class: "small" }, `Total estimated cost: US$ ${s.estimated_cost_usd.toFixed(4)} for ${s.tokens.input} input and ${s.tokens.output} output tokens.`));
      figures.push(usage, cost);
    }
    clear(charts).append(...figures);
  } catch (error) {
    setError(document.getElementById("stats-error"), describeError(error));
  } finally {
    charts.removeAttribute("aria-busy");
  }
}

load();
