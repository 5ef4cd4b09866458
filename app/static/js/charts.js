// One chart with its data table. The chart is drawn by the vendored Chart.js (loaded before the page's
// modules as a classic script: app/static/vendor/chartjs-4.4.7); the table beside it carries the same
// numbers for screen readers and for anyone who prefers them, so the canvas is hidden from assistive
// technology and never the only place a figure appears.
import { el } from "./dom.js";

function colour(name, fallback) {
  const value = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return value || fallback;
}

const PALETTE = ["#2f6fde", "#c0392b", "#1e8449", "#b9770e", "#7d3c98"];

// chart({id, title, type, labels, series: [{label, data}], stacked, caption, integer}) → a <figure> element.
export function chart({ id, title, type = "bar", labels, series, stacked = false, caption = "", integer = true }) {
  const canvas = el("canvas", { id: `${id}-canvas`, "aria-hidden": "true" });
  const table = el("table", { class: "data", id: `${id}-table` },
    el("caption", { class: "visually-hidden" }, `${title}: data`),
    el("thead", {}, el("tr", {}, el("th", { scope: "col" }, caption || "Label"),
      series.map((s) => el("th", { scope: "col" }, s.label)))),
    el("tbody", {}, labels.map((label, i) => el("tr", {}, el("th", { scope: "row" }, String(label)),
      series.map((s) => el("td", {}, s.data[i] === null || s.data[i] === undefined ? "–" : String(s.data[i])))))));
  const figure = el("figure", { class: "card chart", id, "aria-labelledby": `${id}-title` },
    el("h2", { id: `${id}-title` }, title),
    el("div", { class: "chart-box" }, canvas),
    el("div", { class: "table-wrap" }, table));
  if (!labels.length) {
    figure.querySelector(".chart-box").replaceWith(el("p", { class: "muted" }, "Nothing to show yet."));
    return figure;
  }
  requestAnimationFrame(() => draw(canvas, type, labels, series, stacked, integer));
  return figure;
}

function draw(canvas, type, labels, series, stacked, integer) {
  const Chart = window.Chart;
  if (!Chart) {
    canvas.replaceWith(el("p", { class: "muted" }, "The chart could not be drawn; the table has the figures."));
    return;
  }
  const text = colour("--fg", "#222");
  const grid = colour("--border", "#ddd");
  const instance = new Chart(canvas, {
    type,
    data: { labels, datasets: series.map((s, i) => ({ label: s.label, data: s.data, backgroundColor: s.colour || PALETTE[i % PALETTE.length],
      borderColor: s.colour || PALETTE[i % PALETTE.length], fill: false, tension: 0.2 })) },
    options: {
      responsive: true, maintainAspectRatio: false, animation: false,
      plugins: { legend: { labels: { color: text } } },
      scales: {
        x: { stacked, ticks: { color: text }, grid: { color: grid } },
        y: { stacked, beginAtZero: true, ticks: integer ? { color: text, precision: 0 } : { color: text }, grid: { color: grid } },
      },
    },
  });
  canvas.dataset.rendered = "true";
  canvas.chart = instance;
}
