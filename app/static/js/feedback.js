// Feedback cards: everything the model said about a passage, and the reviewer's decisions on it.
import { el } from "./dom.js";
import { statusLabel } from "./format.js";

const TYPE_LABEL = { critical: "Critical", important: "Important", suggestion: "Suggestion", positive: "Positive" };
const SOURCE_LABEL = { ai: "AI", rules: "Rules reviewer", custom: "Reviewer" };

function field(label, value) {
  if (!value) return null;
  return el("div", { class: "fb-field" }, el("span", { class: "fb-label" }, `${label}: `), value);
}

export function card(item, hawkeye, handlers) {
  const refs = (item.hawkeye_refs || []).map((n) => (hawkeye[n] ? `#${n} ${hawkeye[n]}` : `#${n}`)).join("; ");
  const questions = (item.questions || []).length
    ? el("ul", { class: "fb-questions" }, item.questions.map((q) => el("li", {}, q))) : null;
  let quote = null;
  if (item.quote) {
    quote = el("div", { class: "fb-quote" },
      el("q", {}, item.quote), " ",
      item.verified
        ? el("span", { class: "verified" }, "✓ found in the text")
        : el("span", { class: "unverified" }, "⚠ not found in the text"));
  }
  const meta = [
    item.confidence !== null && item.confidence !== undefined ? `confidence ${Math.round(item.confidence * 100)}%` : null,
    item.model ? `model ${item.model}` : null, SOURCE_LABEL[item.source] || item.source,
  ].filter(Boolean).join(" · ");

  const buttons = [];
  const button = (label, action, extra = {}) => {
    const node = el("button", { type: "button", class: `small-button ${extra.class || ""}`, dataset: { action }, ...extra.attrs }, label);
    node.addEventListener("click", (event) => {
      event.stopPropagation();
      handlers[action](item, node);
    });
    buttons.push(node);
  };
  if (item.status !== "accepted") button("Accept", "accept", { class: "accept", attrs: { "aria-keyshortcuts": "A" } });
  if (item.status !== "rejected") button("Reject", "reject", { class: "reject", attrs: { "aria-keyshortcuts": "R" } });
  if (item.status !== "pending") button("Revert", "revert", { class: "secondary" });
  button("Edit", "edit", { class: "secondary" });
  if (item.verified && item.quote) button("Show in text", "locate", { class: "secondary" });
  if (handlers.canDelete && handlers.canDelete(item)) button("Delete", "remove", { class: "secondary danger" });

  const node = el("li", {
    class: `fb status-${item.status}`, tabindex: "0", dataset: { itemId: item.id },
    "aria-label": `${TYPE_LABEL[item.type] || item.type}, ${item.risk_level} risk, ${statusLabel(item.status)}: ${item.description}`,
  },
  el("div", { class: "fb-head" },
    el("span", { class: `badge type-${item.type}` }, TYPE_LABEL[item.type] || item.type),
    el("span", { class: `risk risk-${item.risk_level}` }, `${item.risk_level} risk`),
    item.category ? el("span", { class: "fb-category" }, item.category) : null,
    el("span", { class: `badge status-${item.status} fb-status` }, statusLabel(item.status))),
  el("p", { class: "fb-description" }, item.description),
  field("Suggestion", item.suggestion),
  field("Example", item.example),
  questions ? el("div", { class: "fb-field" }, el("span", { class: "fb-label" }, "Questions:"), questions) : null,
  field("Hawkeye", refs),
  quote,
  el("div", { class: "fb-meta small muted" }, meta),
  el("div", { class: "fb-actions" }, buttons));
  return node;
}

// The inline editor: description, suggestion, category, risk. Resolves with the changes or null.
export function editor(item) {
  const id = `edit-${item.id}`;
  const description = el("textarea", { id: `${id}-description`, rows: 3 });
  description.value = item.description || "";
  const suggestion = el("textarea", { id: `${id}-suggestion`, rows: 2 });
  suggestion.value = item.suggestion || "";
  const category = el("input", { id: `${id}-category` });
  category.value = item.category || "";
  const risk = el("select", { id: `${id}-risk` }, ["High", "Medium", "Low"].map((r) => el("option", { value: r }, r)));
  risk.value = item.risk_level;
  const error = el("p", { class: "error", role: "alert", hidden: true });
  const save = el("button", { type: "submit" }, "Save");
  const cancel = el("button", { type: "button", class: "secondary" }, "Cancel");
  const form = el("form", { class: "fb-editor", "aria-label": "Edit feedback" },
    el("label", { for: description.id }, "Feedback text"), description,
    el("label", { for: suggestion.id }, "Suggestion"), suggestion,
    el("div", { class: "row" },
      el("div", {}, el("label", { for: category.id }, "Category"), category),
      el("div", {}, el("label", { for: risk.id }, "Risk"), risk)),
    error, el("div", { class: "row" }, save, cancel));
  const changes = () => {
    const result = {};
    if (description.value.trim() !== (item.description || "")) result.description = description.value.trim();
    if (suggestion.value.trim() !== (item.suggestion || "")) result.suggestion = suggestion.value.trim();
    if (category.value.trim() !== (item.category || "")) result.category = category.value.trim();
    if (risk.value !== item.risk_level) result.risk_level = risk.value;
    return result;
  };
  return { form, description, error, save, cancel, changes };
}
