// A change that lost to someone else's (409 version_conflict): both versions side by side, and the
// reviewer chooses. Nothing is overwritten without that choice.
import { el } from "./dom.js";
import { statusLabel } from "./format.js";

const FIELDS = [["status", "Status"], ["description", "Feedback text"], ["suggestion", "Suggestion"],
  ["category", "Category"], ["risk_level", "Risk"]];

function show(field, value) {
  if (field === "status") return statusLabel(value);
  return value === null || value === undefined || value === "" ? "(empty)" : String(value);
}

function version(title, item, fields, className) {
  return el("section", { class: `conflict-version ${className}`, "aria-label": title },
    el("h4", {}, title),
    el("dl", {}, fields.flatMap(([field, label]) => [el("dt", {}, label), el("dd", { dataset: { field } }, show(field, item[field]))])));
}

// theirs: the server's current item; base: the item as this page had it; mine: the fields this page
// tried to set ({status} for a decision, the edited fields for an edit).
export function conflictPanel(theirs, base, mine, { onKeepTheirs, onApplyMine }) {
  const fields = FIELDS.filter(([field]) => field in mine || field === "status" || field === "description"
    || theirs[field] !== base[field]);
  const yours = { ...base, ...mine };
  const keep = el("button", { type: "button", class: "small-button secondary", dataset: { action: "keep-theirs" } }, "Keep theirs");
  const apply = el("button", { type: "button", class: "small-button", dataset: { action: "apply-mine" } }, "Apply mine anyway");
  keep.addEventListener("click", (event) => { event.stopPropagation(); onKeepTheirs(); });
  apply.addEventListener("click", (event) => { event.stopPropagation(); onApplyMine(); });
  return el("div", { class: "conflict", role: "group", "aria-label": "Conflicting versions of this item" },
    el("p", { class: "conflict-title" }, "Someone else changed this item while you were working on it. Yours is not saved."),
    el("div", { class: "conflict-versions" },
      version(`Theirs (saved, version ${theirs.version})`, theirs, fields, "theirs"),
      version("Yours (not saved)", yours, fields, "yours")),
    el("div", { class: "fb-actions" }, keep, apply));
}
