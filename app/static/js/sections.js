// The section navigator and the section text with the quoted passages highlighted.
import { clear, el } from "./dom.js";
import { RISK_ORDER, highestRisk, statusLabel } from "./format.js";

// One entry per section: title, its analysis status and the highest risk of its live feedback.
export function navigatorEntry(section, analysis, items, selected) {
  const risk = highestRisk(items.filter((i) => i.status !== "rejected"));
  const status = analysis ? analysis.status : "none";
  const label = analysis ? statusLabel(analysis.status) : "Not analysed";
  const button = el("button", {
    type: "button", class: "section-entry", "aria-current": selected ? "true" : null,
    dataset: { sectionId: section.id },
  },
  el("span", { class: `level-${Math.min(section.level || 1, 4)} section-name` }, section.title || "(untitled)"),
  el("span", { class: "section-meta" },
    el("span", { class: `dot status-${status}`, "aria-hidden": "true" }),
    el("span", { class: "small" }, label),
    risk ? el("span", { class: `risk risk-${risk}` }, risk) : null,
    items.length ? el("span", { class: "small muted" }, `${items.length} item${items.length === 1 ? "" : "s"}`) : null));
  return el("li", {}, button);
}

// Split the text at every quote boundary; each piece covered by a quote becomes a <mark> that knows
// its items. Overlapping quotes are handled: a piece lists every item that covers it.
export function renderSectionText(container, text, items) {
  const spans = items
    .filter((i) => i.verified && Number.isInteger(i.quote_start) && Number.isInteger(i.quote_end) && i.quote_end > i.quote_start)
    .map((i) => ({ id: i.id, start: Math.max(0, i.quote_start), end: Math.min(text.length, i.quote_end), risk: i.risk_level, status: i.status }));
  const cuts = new Set([0, text.length]);
  for (const span of spans) {
    cuts.add(span.start);
    cuts.add(span.end);
  }
  const points = [...cuts].sort((a, b) => a - b);
  const fragment = document.createDocumentFragment();
  for (let index = 0; index < points.length - 1; index += 1) {
    const start = points[index];
    const end = points[index + 1];
    const piece = text.slice(start, end);
    const covering = spans.filter((s) => s.start <= start && s.end >= end);
    if (!covering.length) {
      fragment.append(document.createTextNode(piece));
      continue;
    }
    const top = covering.reduce((a, b) => ((RISK_ORDER[b.risk] || 0) > (RISK_ORDER[a.risk] || 0) ? b : a));
    const allRejected = covering.every((s) => s.status === "rejected");
    fragment.append(el("mark", {
      class: `quote risk-${top.risk}${allRejected ? " rejected" : ""}`, tabindex: "-1",
      dataset: { items: covering.map((s) => s.id).join(" ") },
      title: "Feedback on this passage: click to see it",
    }, piece));
  }
  clear(container).append(fragment);
}

export function marksFor(container, itemId) {
  return [...container.querySelectorAll("mark.quote")].filter((m) => m.dataset.items.split(" ").includes(String(itemId)));
}
