// The document's summary as the model wrote it (GET /api/documents/{id}/summary), drawn into every
// container given (the Summary tab, and the Export tab before the reviewer finishes). Model text goes
// in as text nodes only.
import { api, describeError } from "./api.js";
import { clear, el } from "./dom.js";

const VERDICTS = { ready: "Ready", needs_work: "Needs work", not_ready: "Not ready" };
const WAITING = {
  pending: "No summary yet: the model writes it once every section's analysis has finished.",
  running: "The model is writing the summary…",
  deferred: "Every model is busy: the summary will be written as soon as one is free.",
};

function pointed(title, entries) {
  if (!entries.length) return null;
  return el("div", { class: "summary-part" }, el("h3", {}, title),
    el("ul", {}, entries.map((entry) => el("li", {},
      el("span", {}, entry.text), " ",
      el("span", { class: "small muted" }, "(items ", ...entry.item_ids.flatMap((id, i) => [i ? ", " : "",
        el("button", { type: "button", class: "link summary-item", dataset: { itemId: id } }, `#${id}`)]), ")"),
      (entry.quotes || []).length ? el("div", { class: "small" }, entry.quotes.map((q) => el("q", { class: "summary-quote" }, q))) : null))));
}

function listOf(title, entries) {
  return entries.length ? el("div", { class: "summary-part" }, el("h3", {}, title), el("ul", {}, entries.map((t) => el("li", {}, t)))) : null;
}

export function render(node, s, { brief = false } = {}) {
  clear(node);
  node.dataset.state = s.state;
  if (s.state in WAITING) return node.append(el("p", { class: "muted", role: "status" }, WAITING[s.state]));
  if (s.state === "failed" || s.state === "not_scored") {
    return node.append(el("p", { class: s.state === "failed" ? "error" : "muted", role: "status" },
      s.state === "failed" ? `The summary could not be written. ${s.error?.message || ""}` : `Not scored: ${s.not_scored_reason || ""}`));
  }
  node.append(
    el("p", { class: "summary-head" },
      el("span", { class: `badge verdict-${s.verdict}`, "data-verdict": s.verdict }, VERDICTS[s.verdict] || s.verdict), " ",
      el("strong", { class: "summary-score" }, `Risk score ${Math.round(s.risk_score)} / 100`)),
    listOf("Why this score", s.reasons),
    pointed("Key risks", s.key_risks));
  if (!brief) node.append(...[listOf("Recommendations", s.recommendations), pointed("Compliance concerns", s.compliance_concerns)].filter(Boolean));
  node.append(el("p", { class: "small muted" }, `Written by ${s.model}${s.provider === "offline" ? " (counted, not written by a model)" : ""}.`));
}

// ``onItem(id)``: a click on an item id (the review page opens the item's card).
export function initSummary(documentId, containers, onItem = () => {}) {
  let timer = null;
  for (const [node] of containers) {
    node.addEventListener("click", (event) => {
      const button = event.target.closest("button.summary-item");
      if (button) onItem(Number(button.dataset.itemId));
    });
  }
  async function load() {
    try {
      const s = await api("GET", `/api/documents/${documentId}/summary`);
      for (const [node, options] of containers) render(node, s, options);
    } catch (error) {
      for (const [node] of containers) clear(node).append(el("p", { class: "error" }, describeError(error)));
    }
  }
  return {
    load,
    refreshSoon() {
      clearTimeout(timer);
      timer = setTimeout(load, 400);
    },
  };
}
