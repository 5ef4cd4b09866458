// The Changes view of a later version: the revision check's statuses, filters, overrides, the
// side-by-side diff of each aligned section, and the export with carried comments.
import { api, describeError, idempotencyKey } from "./api.js";
import { clear, el, setError } from "./dom.js";

const root = document.getElementById("changes");
const documentId = root.dataset.documentId;
const STATUS_NAMES = { open: "Open", addressed: "Addressed", partly: "Partly addressed", quote_gone: "Quote gone" };
const LOCATION_NAMES = { exact: "unchanged", moved: "unchanged, moved", changed: "rewritten", gone: "removed", unquoted: "no quote" };
const KIND_NAMES = { same: "unchanged", renamed: "renamed", moved: "moved", split: "split", merged: "merged",
  reorganised: "reorganised", added: "new", removed: "removed" };
let revision = null;
let timer = null;

function badge(status) {
  return el("span", { class: `badge revision-${status || "unjudged"}` }, STATUS_NAMES[status] || "Not judged yet");
}

function words(marks) {
  // [[op, text], ...] → the old side (= and -) and the new side (= and +), deletions and insertions marked
  const left = el("div", { class: "diff-cell old" });
  const right = el("div", { class: "diff-cell new" });
  for (const [op, text] of marks) {
    if (op === "=") { left.append(text); right.append(text); }
    else if (op === "-") left.append(el("del", {}, text));
    else right.append(el("ins", {}, text));
  }
  return [left, right];
}

function kindNames(group) {
  // "same" says the section stayed where it was under its name; whether its text changed is the rows' business
  if (group.kinds.length === 1 && group.kinds[0] === "same") return [group.changed ? "edited" : "unchanged"];
  return group.kinds.map((k) => KIND_NAMES[k] || k).concat(group.changed && group.rows.some((r) => r.op !== "equal") ? ["edited"] : []);
}

function renderGroups() {
  const box = clear(document.getElementById("groups"));
  const changedOnly = document.getElementById("changed-only").checked;
  revision.groups.forEach((group, index) => {
    if (changedOnly && !group.changed && !revision.items.some((i) => i.group === index)) return;
    const title = `${group.v1_titles.join(" + ") || "(new)"} → ${group.v2_titles.join(" + ") || "(removed)"}`;
    const rows = el("div", { class: "diff-rows" });
    for (const row of group.rows) {
      let cells;
      if (row.op === "replace") cells = words(row.words);
      else if (row.op === "delete") cells = [el("div", { class: "diff-cell old" }, el("del", {}, row.old)), el("div", { class: "diff-cell new" })];
      else if (row.op === "insert") cells = [el("div", { class: "diff-cell old" }), el("div", { class: "diff-cell new" }, el("ins", {}, row.new))];
      else cells = [el("div", { class: "diff-cell old" }, row.old), el("div", { class: "diff-cell new" }, row.new)];
      rows.append(el("div", { class: `diff-row diff-${row.op}`, dataset: { old: row.old, new: row.new } }, ...cells));
    }
    box.append(el("article", { class: "diff-group", id: `group-${index}`, "aria-label": title },
      el("h3", {}, title, " ", ...kindNames(group).map((name) => el("span", { class: "badge" }, name))),
      el("div", { class: "diff-head" }, el("span", {}, "Version 1"), el("span", {}, "This version")), rows));
  });
  linkItems();
}

function linkItems() {
  // Give the diff cells that hold an item's old words and its new words ids the item's links point at.
  for (const item of revision.items) {
    const group = document.getElementById(`group-${item.group}`);
    if (!group) continue;
    const oldWords = item.item.quote || "";
    const newWords = item.new_quote || item.new_text || (["exact", "moved"].includes(item.location) ? oldWords : "");
    for (const row of group.querySelectorAll(".diff-row")) {
      if (oldWords && row.dataset.old.includes(oldWords) && !document.getElementById(`old-${item.item_id}`)) row.children[0].id = `old-${item.item_id}`;
      if (newWords && row.dataset.new.includes(newWords) && !document.getElementById(`new-${item.item_id}`)) row.children[1].id = `new-${item.item_id}`;
    }
  }
}

async function override(item, status, reason, errorBox) {
  setError(errorBox, null);
  try {
    await api("POST", `/api/documents/${documentId}/revision/items/${item.item_id}`, { status, reason });
    await load();
  } catch (error) {
    setError(errorBox, describeError(error));
  }
}

function renderItems() {
  const filter = document.getElementById("status-filter").value;
  const list = clear(document.getElementById("revision-items"));
  const shown = revision.items.filter((i) => filter === "all" || i.status === filter);
  if (!shown.length) list.append(el("li", { class: "muted" }, filter === "all" ? "No accepted comments to follow." : "No comments with this status."));
  for (const item of shown) {
    const errorBox = el("p", { class: "error small", role: "alert", hidden: true });
    const choice = el("select", { "aria-label": "Status to set" },
      ...Object.entries(STATUS_NAMES).map(([value, name]) => el("option", { value, selected: value === item.status }, name)));
    const why = el("input", { type: "text", maxlength: 2000, placeholder: "Why (optional)", "aria-label": "Reason for the new status" });
    const save = el("button", { type: "button", class: "secondary small-button" }, "Set status");
    save.addEventListener("click", () => override(item, choice.value, why.value, errorBox));
    const newText = item.new_quote || item.new_text;
    list.append(el("li", { class: "revision-item", dataset: { itemId: item.item_id, status: item.status || "unjudged" } },
      el("div", { class: "row spread" }, badge(item.status),
        el("span", { class: "muted small" }, `Old words ${LOCATION_NAMES[item.location] || item.location}`,
          item.overridden ? " · set by a reviewer" : "",
          ["addressed", "partly"].includes(item.status) && !item.verified ? " · new words not verified" : "")),
      el("p", {}, item.item.description),
      item.item.quote ? el("blockquote", { class: "old-quote" }, el("a", { href: `#old-${item.item_id}` }, "Old text:"), " ", item.item.quote) : null,
      newText ? el("blockquote", { class: "new-quote" }, el("a", { href: `#new-${item.item_id}` }, "New text:"), " ", newText) : null,
      item.reason ? el("p", { class: "muted small" }, item.reason) : null,
      el("div", { class: "row override" }, choice, why, save), errorBox));
  }
}

function renderSummary() {
  const state = document.getElementById("check-state");
  const names = { queued: "The check is waiting for a worker…", running: "Checking the comments…",
    deferred: "Every model is busy; the check will continue shortly.", completed: "Check completed.", failed: "The check failed." };
  state.textContent = names[revision.state] || revision.state;
  state.dataset.state = revision.state;
  setError(document.getElementById("check-error"), revision.error ? revision.error.message : null);
  document.getElementById("check-retry").hidden = revision.state !== "failed";
  const summary = clear(document.getElementById("check-summary"));
  for (const [status, count] of Object.entries(revision.summary)) {
    if (status === "unjudged" && !count) continue;
    summary.append(el("li", {}, badge(status === "unjudged" ? null : status), ` ${count}`));
  }
}

async function load() {
  try {
    revision = await api("GET", `/api/documents/${documentId}/revision`);
  } catch (error) {
    setError(document.getElementById("check-error"), describeError(error));
    return;
  }
  renderSummary();
  renderItems();
  renderGroups();
  clearTimeout(timer);
  if (!["completed", "failed"].includes(revision.state)) timer = setTimeout(load, 1000);
}

async function exportCarried() {
  const button = document.getElementById("carry-export");
  const status = document.getElementById("carry-status");
  const errorBox = document.getElementById("carry-error");
  const files = clear(document.getElementById("carry-files"));
  setError(errorBox, null);
  button.disabled = true;
  try {
    let data = await api("POST", `/api/documents/${documentId}/exports`, { formats: ["docx", "json"], carry_forward: true },
      { headers: { "Idempotency-Key": idempotencyKey() } });
    while (!["completed", "failed"].includes(data.status)) {
      status.textContent = "Building the files…";
      await new Promise((resolve) => setTimeout(resolve, 1000));
      data = await api("GET", `/api/exports/${data.id}`);
    }
    if (data.status === "failed") setError(errorBox, `The export failed: ${data.error || "no reason was given"}.`);
    status.textContent = data.status === "completed" ? "Export ready." : "";
    files.append(...(data.files || []).map((file) => el("li", {},
      el("a", { href: file.url, download: file.name, class: "button", dataset: { format: file.format } }, `Download ${file.name}`))));
  } catch (error) {
    setError(errorBox, describeError(error));
  } finally {
    button.disabled = false;
  }
}

document.getElementById("status-filter").addEventListener("change", renderItems);
document.getElementById("changed-only").addEventListener("change", renderGroups);
document.getElementById("carry-export").addEventListener("click", exportCarried);
document.getElementById("check-retry").addEventListener("click", async () => {
  try {
    await api("POST", `/api/documents/${documentId}/revision`);
  } catch (error) {
    setError(document.getElementById("check-error"), describeError(error));
  }
  load();
});
load();
