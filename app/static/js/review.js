// The review page: wires the navigator, section text, feedback cards, live progress, chat,
// statistics and export together. Holds the page's state; the other modules render pieces of it.
import { initAnalysisButtons } from "./analyse.js";
import { api, describeError } from "./api.js";
import { initChat } from "./chat.js";
import { conflictPanel } from "./conflict.js";
import { el, setError } from "./dom.js";
import { subscribe } from "./events.js";
import { initExport } from "./export.js";
import { card, editor } from "./feedback.js";
import { statusLabel } from "./format.js";
import { notify, notifyError } from "./notices.js";
import { initCustomFeedback } from "./custom.js";
import { initJumps } from "./jump.js";
import { confirmDialog } from "./confirm.js";
import { initConfidence } from "./confidence.js";
import { initActivity } from "./timeline.js";
import { startTour } from "./tour.js";
import { measureAfterPaint } from "./perf.js";
import { activeAnalyses, renderProgress } from "./progress.js";
import { initSectionEditing } from "./structure.js";
import { marksFor, navigatorEntry, renderSectionText } from "./sections.js";
import { initShortcuts } from "./shortcuts.js";
import { initStats } from "./stats.js";
import { initSummary } from "./summary.js";
import { initTabs } from "./tabs.js";

performance.mark("review:start");
const root = document.getElementById("review");
const documentId = Number(root.dataset.documentId);
const userId = Number(root.dataset.userId);
const hawkeye = JSON.parse(root.dataset.hawkeye || "{}");
const $ = (id) => document.getElementById(id);
const nodes = {
  nav: $("section-list"), title: $("section-title"), text: $("section-text"), sectionState: $("section-state"),
  list: $("feedback-list"), empty: $("feedback-empty"), count: $("feedback-count"), filter: $("feedback-filter"),
  status: $("doc-status"), risk: $("doc-risk"), live: $("live-state"),
};
const progressNodes = { block: $("analysis-progress-block"), bar: $("analysis-progress"), label: $("analysis-progress-label"), stop: $("analysis-stop") };
const state = {
  sections: [], index: 0, items: new Map(), analyses: new Map(), filter: "all", focusedItem: null, hidden: 0,
  conflicts: new Map(), // item id → { base, mine, apply }: a change that lost, waiting for the reviewer's choice
  rarely: new Set(), // categories this team rarely accepts (the learning loop): their pending items start folded
};

const currentSection = () => state.sections[state.index];
const itemsOf = (sectionId) => [...state.items.values()].filter((i) => i.section_id === sectionId)
  .sort((a, b) => (a.quote_start ?? 1e9) - (b.quote_start ?? 1e9) || a.id - b.id);

// ------------------------------------------------------------------ rendering
// Entries that look the same are kept (not rebuilt), so a refresh does not swallow a click on them.
function renderNavigator() {
  const old = [...nodes.nav.children];
  const entries = state.sections.map((s, i) => {
    const entry = navigatorEntry(s, state.analyses.get(s.id), itemsOf(s.id), i === state.index);
    return old[i] && old[i].outerHTML === entry.outerHTML ? old[i] : entry;
  });
  if (entries.length !== old.length || entries.some((n, i) => n !== old[i])) nodes.nav.replaceChildren(...entries);
}

function refreshNavigatorEntry(sectionId) {
  const index = state.sections.findIndex((s) => s.id === sectionId);
  const old = nodes.nav.children[index];
  if (old) old.replaceWith(navigatorEntry(state.sections[index], state.analyses.get(sectionId), itemsOf(sectionId), index === state.index));
}

function renderSection() {
  const section = currentSection();
  if (!section) {
    nodes.title.textContent = "This document has no sections.";
    return;
  }
  nodes.title.textContent = section.title || "(untitled)";
  const analysis = state.analyses.get(section.id);
  nodes.sectionState.textContent = `Section ${state.index + 1} of ${state.sections.length} · ${analysis ? statusLabel(analysis.status) : "Not analysed"}`
    + (analysis && analysis.error ? ` · ${analysis.error.message}` : "") + (analysis && analysis.degraded ? " · reviewed by the offline rules, not the model" : "");
  const items = itemsOf(section.id);
  renderText(items);
  renderCards(items);
}

function renderText(items = itemsOf(currentSection().id)) {
  if (sectionTools.splitting) sectionTools.renderSplitText(currentSection());
  else renderSectionText(nodes.text, currentSection().text || "", items);
}

function renderCards(items = itemsOf(currentSection().id)) {
  const sectionId = String(currentSection().id);
  renderCount(items);
  // A live update must not throw away an edit the reviewer is typing.
  if (nodes.list.dataset.sectionId === sectionId && nodes.list.querySelector(".fb-editor")) return;
  nodes.list.dataset.sectionId = sectionId;
  const shown = state.filter === "all" ? items : items.filter((i) => i.status === state.filter);
  // Cards whose item has not changed stay in place: a refresh must not swallow a click (the press on
  // one element and the release on its replacement) or move the keyboard focus.
  const existing = new Map([...nodes.list.children].map((n) => [n.dataset.itemId, n]));
  const wanted = shown.map((item) => {
    const old = existing.get(String(item.id));
    const unchanged = old && old.dataset.version === String(item.version) && !state.conflicts.has(item.id) && !old.querySelector(".conflict");
    return unchanged ? old : cardFor(item);
  });
  const children = [...nodes.list.children];
  if (wanted.length !== children.length || wanted.some((n, i) => n !== children[i])) nodes.list.replaceChildren(...wanted);
  nodes.empty.hidden = shown.length > 0;
  const analysis = state.analyses.get(currentSection().id);
  nodes.empty.textContent = items.length ? "No feedback matches this filter."
    : (analysis && analysis.status === "completed" ? "The review found nothing to comment on in this section."
      : "No feedback yet. Analyse this section, or select text to add your own.");
}

// The "N items, M pending" line, from the items the server sent (a reload, a response or an event).
function renderCount(items = itemsOf(currentSection().id)) {
  const pending = items.filter((i) => i.status === "pending").length;
  nodes.count.textContent = `${items.length} item${items.length === 1 ? "" : "s"}, ${pending} pending`
    + (state.hidden ? ` (${state.hidden} low-confidence in the document not shown)` : "");
}

// A card, with the two versions side by side while a change of ours that lost waits for a choice.
function cardFor(item) {
  const node = card(item, hawkeye, handlers);
  node.dataset.version = String(item.version);
  if (item.status === "pending" && state.rarely?.has(item.category)) collapse(node, item.category);
  const conflict = state.conflicts.get(item.id);
  if (conflict) {
    node.querySelector(".fb-actions").before(conflictPanel(item, conflict.base, conflict.mine, {
      onKeepTheirs() {
        state.conflicts.delete(item.id);
        updateItem(state.items.get(item.id));
        cardNode(item.id)?.focus();
      },
      onApplyMine() {
        state.conflicts.delete(item.id);
        conflict.apply(state.items.get(item.id));
      },
    }));
  }
  return node;
}

function cardNode(itemId) {
  return nodes.list.querySelector(`li.fb[data-item-id="${itemId}"]`);
}

// Replace one item everywhere it shows, keeping keyboard focus on its card. A card whose editor is
// open keeps the editor: the reviewer's typing is never thrown away, and a Save made from the older
// version meets the conflict view.
function updateItem(item) {
  const known = state.items.get(item.id);
  if (known && known.version >= item.version) return; // a copy we have already, or an older one arriving late
  const moved = known && known.section_id !== item.section_id;
  state.items.set(item.id, item);
  if (moved) refreshNavigatorEntry(known.section_id);
  if (item.section_id !== currentSection().id) {
    if (moved && known.section_id === currentSection().id) renderSection();
    return refreshNavigatorEntry(item.section_id);
  }
  const old = cardNode(item.id);
  const hadFocus = old && old.contains(document.activeElement);
  const openEditor = old?.querySelector(".fb-editor");
  if (openEditor) {
    if (!openEditor.querySelector(".changed-elsewhere")) {
      openEditor.prepend(el("p", { class: "small changed-elsewhere", role: "status" },
        "Someone else changed this item while you were editing. Saving will show both versions first."));
    }
  } else if (old) {
    if (state.filter !== "all" && state.filter !== item.status) old.remove();
    else old.replaceWith(cardFor(item));
  } else if (state.filter === "all" || state.filter === item.status) {
    renderCards(); // a new item (someone's custom feedback) or one now matching the filter
  }
  renderText(itemsOf(item.section_id));
  renderCount();
  refreshNavigatorEntry(item.section_id);
  if (hadFocus && cardNode(item.id)) cardNode(item.id).focus();
}

function select(index, { focusText = false } = {}) {
  if (index < 0 || index >= state.sections.length) return;
  state.index = index;
  state.focusedItem = null;
  nodes.nav.querySelectorAll("[aria-current]").forEach((b) => b.removeAttribute("aria-current"));
  const button = nodes.nav.children[index]?.querySelector("button");
  if (button) {
    button.setAttribute("aria-current", "true");
    button.scrollIntoView({ block: "nearest" });
  }
  custom.hide();
  sectionTools.sectionShown(currentSection());
  renderSection();
  nodes.text.scrollTop = 0;
  if (focusText) nodes.text.focus();
  history.replaceState(null, "", `#section-${currentSection().id}`);
}

// ------------------------------------------------------------------ decisions and edits
const inFlight = new Set(); // a double click or a held key sends one decision, not a stale second one

const DECIDED = { accept: "accepted", reject: "rejected", revert: "pending" };

async function decide(item, decision) {
  if (inFlight.has(item.id)) return;
  state.conflicts.delete(item.id); // deciding again from the card is the reviewer's choice
  inFlight.add(item.id);
  const started = performance.now();
  cardNode(item.id)?.setAttribute("aria-busy", "true");
  try {
    const updated = await api("POST", `/api/feedback/${item.id}/decision`, { decision, version: item.version });
    updateItem(updated);
    measureAfterPaint(`decision:${decision}`, started);
    stats.refreshSoon();
    if (decision !== "revert") focusNextPending(updated);
  } catch (error) {
    if (error.code === "version_conflict" && error.details.current) {
      state.conflicts.set(item.id, { base: item, mine: { status: DECIDED[decision] }, apply: (theirs) => decide(theirs, decision) });
      updateItem(error.details.current);
      const shown = cardNode(item.id); // a live event may have brought theirs already: show the choice anyway
      if (shown && !shown.querySelector(".conflict, .fb-editor")) shown.replaceWith(cardFor(state.items.get(item.id)));
    }
    notifyError(error);
  } finally {
    inFlight.delete(item.id);
    cardNode(item.id)?.removeAttribute("aria-busy");
  }
}

// One request for every pending item of the section; each gets its own audit event on the server.
$("accept-section").addEventListener("click", async () => {
  const pending = itemsOf(currentSection().id).filter((i) => i.status === "pending");
  if (!pending.length) return notify("Nothing is pending in this section.", "info", 4000);
  try {
    const { items } = await api("POST", `/api/documents/${documentId}/feedback/decisions`,
      { decision: "accept", item_ids: pending.map((i) => i.id) });
    for (const item of items) state.items.set(item.id, item);
    renderSection();
    refreshNavigatorEntry(currentSection().id);
    stats.refreshSoon();
    notify(`Accepted ${items.length} item${items.length === 1 ? "" : "s"}.`, "info", 4000);
  } catch (error) {
    notifyError(error);
  }
});

function focusNextPending(after) {
  const cards = [...nodes.list.querySelectorAll("li.fb")];
  const index = cards.findIndex((c) => Number(c.dataset.itemId) === after.id);
  const next = cards.slice(index + 1).find((c) => c.classList.contains("status-pending"));
  if (next) next.focus();
}

function closeEditor(itemId) {
  const item = state.items.get(itemId);
  const node = cardNode(itemId);
  if (node) node.replaceWith(cardFor(item));
  renderText();
  renderCount();
  refreshNavigatorEntry(item.section_id);
  cardNode(itemId)?.focus();
}

// Edit from the version on screen. When someone else saved first (409), the form stays with the
// reviewer's text and both versions are shown; only "Apply mine anyway" (a new request carrying their
// version) or "Keep theirs" goes on. A second Save cannot overwrite their edit by accident.
function edit(item) {
  const base = item;
  const node = cardNode(item.id);
  const form = editor(item);
  node.replaceChildren(form.form);
  form.description.focus();
  form.cancel.addEventListener("click", () => closeEditor(item.id));

  async function save(changes, version) {
    if (!Object.keys(changes).length) return closeEditor(item.id);
    if (changes.description === "") return setError(form.error, "The feedback text cannot be empty.");
    try {
      const saved = await api("PATCH", `/api/feedback/${item.id}`, { ...changes, version });
      if ((state.items.get(item.id)?.version || 0) <= saved.version) state.items.set(item.id, saved);
      closeEditor(item.id);
      stats.refreshSoon();
    } catch (error) {
      if (error.code === "version_conflict" && error.details.current) {
        const theirs = error.details.current;
        if ((state.items.get(item.id)?.version || 0) <= theirs.version) state.items.set(item.id, theirs);
        showConflict(changes);
      }
      setError(form.error, describeError(error));
    }
  }

  function showConflict(changes) {
    form.form.querySelector(".conflict")?.remove();
    form.save.hidden = true;
    form.error.before(conflictPanel(state.items.get(item.id), base, changes, {
      onKeepTheirs: () => closeEditor(item.id),
      onApplyMine: () => save(form.changes(), state.items.get(item.id).version),
    }));
  }

  form.form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (form.save.hidden) return; // after a conflict only the explicit choice saves
    save(form.changes(), base.version);
  });
}

function locate(item) {
  const marks = marksFor(nodes.text, item.id);
  if (!marks.length) return notify("This quote is not highlighted in the section text.", "info");
  for (const mark of nodes.text.querySelectorAll("mark.flash")) mark.classList.remove("flash");
  marks.forEach((m) => m.classList.add("flash"));
  marks[0].scrollIntoView({ block: "center", behavior: "smooth" });
  marks[0].focus({ preventScroll: true });
  state.focusedItem = item.id;
}

// A reviewer's own custom item can be deleted (after a confirmation); the server audits it.
async function remove(item) {
  const go = await confirmDialog({ title: "Delete this feedback?", message: `“${item.description.slice(0, 200)}” will be removed. The activity log keeps a record of it.`, confirmLabel: "Delete" });
  if (!go) return;
  try {
    await api("DELETE", `/api/feedback/${item.id}`);
    dropItems([{ id: item.id, section_id: item.section_id }]);
    notify("Feedback deleted.", "info", 4000);
  } catch (error) {
    notifyError(error);
  }
}

function dropItems(deleted) {
  for (const gone of deleted) {
    state.items.delete(gone.id);
    state.conflicts.delete(gone.id);
    refreshNavigatorEntry(gone.section_id);
  }
  if (currentSection()) renderSection();
  stats.refreshSoon();
  activityTab.refreshSoon();
}

const handlers = {
  accept: (item) => decide(item, "accept"),
  reject: (item) => decide(item, "reject"),
  revert: (item) => decide(item, "revert"),
  edit,
  locate,
  remove,
  canDelete: (item) => item.source === "custom" && item.created_by === userId,
};

// Clicking a highlighted passage goes back to its feedback card.
nodes.text.addEventListener("click", (event) => {
  const mark = event.target.closest("mark.quote");
  if (!mark) return;
  const id = Number(mark.dataset.items.split(" ")[0]);
  if (state.filter !== "all" && state.items.get(id)?.status !== state.filter) {
    nodes.filter.value = state.filter = "all";
    renderCards();
  }
  const target = cardNode(id);
  if (target) {
    target.scrollIntoView({ block: "nearest", behavior: "smooth" });
    target.focus({ preventScroll: true });
  }
});
nodes.list.addEventListener("focusin", (event) => {
  const node = event.target.closest("li.fb");
  if (node) state.focusedItem = Number(node.dataset.itemId);
});
nodes.nav.addEventListener("click", (event) => {
  const button = event.target.closest("button[data-section-id]");
  if (!button) return;
  const started = performance.now();
  select(state.sections.findIndex((s) => s.id === Number(button.dataset.sectionId)));
  measureAfterPaint("navigate", started);
});
nodes.filter.addEventListener("change", () => {
  state.filter = nodes.filter.value;
  renderCards();
});

// ------------------------------------------------------------------ analysis and live progress
function showProgress() {
  renderProgress([...state.analyses.values()], progressNodes);
}

function setDocumentStatus(status, riskScore, notScoredReason) {
  if (status) {
    nodes.status.textContent = statusLabel(status);
    nodes.status.className = `badge status-${status}`;
    nodes.status.dataset.status = status;
  }
  if (riskScore !== undefined && riskScore !== null) nodes.risk.textContent = `Risk score ${Math.round(riskScore)}`;
  else if (notScoredReason) nodes.risk.textContent = `Risk: not scored. ${notScoredReason}`;
}

let feedbackTimer = null;
function reloadFeedbackSoon() {
  clearTimeout(feedbackTimer);
  feedbackTimer = setTimeout(loadFeedback, 250);
}

function onAnalysis(analysis) {
  if (analysis.document_id !== undefined && analysis.document_id !== documentId) return;
  const previous = state.analyses.get(analysis.section_id);
  if (previous && previous.id > analysis.id) return; // an older run's late event
  state.analyses.set(analysis.section_id, analysis);
  refreshNavigatorEntry(analysis.section_id);
  if (analysis.section_id === currentSection()?.id) renderSection();
  showProgress();
  if (["completed", "failed"].includes(analysis.status)) reloadFeedbackSoon();
}

// Analyse section / Analyse all (with the confirmation) and Stop: analyse.js. Their answers are
// the server's analyses, shown like any event.
initAnalysisButtons({
  documentId,
  currentSectionId: () => currentSection().id,
  active: () => activeAnalyses([...state.analyses.values()]),
  onJobs(jobs) {
    for (const job of jobs) onAnalysis({ ...(state.analyses.get(job.section_id) || {}), ...job, progress: 0 });
    if (jobs.length) setDocumentStatus("processing");
  },
  onAnalysis,
});

// Progress comes from the server only: the snapshot (authoritative, on every connect and reconnect)
// and the events after it. If the stream says the document settled while this page still counts work
// in flight, or nothing has arrived for a while with work in flight, a new stream brings a new snapshot.
const QUIET_MS = 30_000;
let lastEvent = Date.now();
let live = null;
function refreshFromServer() {
  lastEvent = Date.now();
  if (live) live.restart();
}
setInterval(() => {
  if (live && activeAnalyses([...state.analyses.values()]).length && Date.now() - lastEvent > QUIET_MS) refreshFromServer();
}, 5000);

const liveWords = { live: "", reconnecting: "Live updates interrupted; reconnecting…", closed: "Live updates stopped. Reload the page to resume them." };
function connectEvents() {
  live = subscribe(documentId, {
    any() { lastEvent = Date.now(); },
    snapshot(data) {
      if (!data.document) return;
      state.analyses = new Map(data.analyses.map((a) => [a.section_id, a]));
      setDocumentStatus(data.document.status, data.document.risk_score, data.document.not_scored_reason);
      if (data.section_ids && data.section_ids.join() !== state.sections.map((s) => s.id).join()) {
        reloadStructure(); // the sections changed while the stream was down
      } else {
        renderNavigator();
        if (currentSection()) renderSection();
      }
      showProgress();
      reloadFeedbackSoon(); // anything that finished while the stream was down
    },
    analysis: onAnalysis,
    document(data) {
      setDocumentStatus(data.status);
      if (data.status !== "processing") {
        if (activeAnalyses([...state.analyses.values()]).length) refreshFromServer();
        reloadFeedbackSoon();
        stats.refreshSoon();
      }
    },
    summary(data) {
      setDocumentStatus(data.status, data.risk_score, data.not_scored_reason);
      stats.refreshSoon();
      summary.refreshSoon();
    },
    item(data) {
      activityTab.refreshSoon();
      if (data.reload) return reloadFeedbackSoon();
      if (data.deleted) return dropItems(data.deleted);
      data.items = data.items.filter((i) => i.document_id === documentId);
      if (data.items.length === 1) updateItem(data.items[0]);
      else {
        for (const item of data.items) {
          if ((state.items.get(item.id)?.version || 0) < item.version) state.items.set(item.id, item);
        }
        renderNavigator();
        renderSection();
      }
      stats.refreshSoon();
    },
    sections: () => { activityTab.refreshSoon(); reloadStructure(); },
    export: (data) => { activityTab.refreshSoon(); exporter.onEvent(data); },
  }, (liveState) => { nodes.live.textContent = liveWords[liveState]; });
}

// ------------------------------------------------------------------ loading
// The feedback list as fetched, except that a newer copy of an item (a decision answered, or an event
// received, while the list was on its way) is never replaced by the older one in the list.
// The learning loop: pending items of a category this team's reviewers rarely accept start folded.
function collapse(node, category) {
  node.classList.add("fb-rarely");
  const toggle = el("button", { type: "button", class: "secondary small-button fb-unfold", "aria-expanded": "false" }, "Show");
  toggle.addEventListener("click", (event) => {
    event.stopPropagation();
    const open = node.classList.toggle("fb-open");
    toggle.setAttribute("aria-expanded", String(open));
    toggle.textContent = open ? "Fold" : "Show";
  });
  node.querySelector(".fb-head").after(el("p", { class: "fb-rarely-note small muted" },
    `Reviewers here rarely accept “${category}” feedback. `, toggle));
}

function takeItems(items) {
  state.items = new Map(items.map((i) => {
    const known = state.items.get(i.id);
    return [i.id, known && known.version > i.version ? known : i];
  }));
}

async function loadFeedback() {
  const { items, hidden, rarely_accepted: rarely } = await api("GET", `/api/documents/${documentId}/feedback`);
  takeItems(items);
  state.hidden = hidden;
  showHidden();
  state.rarely = new Set(rarely || []);
  if (!state.sections.length) return;
  const focused = nodes.list.contains(document.activeElement) ? state.focusedItem : null;
  renderNavigator();
  renderSection();
  if (focused && cardNode(focused)) cardNode(focused).focus();
}

// After a section edit (here or in another tab): sections and feedback again, the same section kept
// open when it still exists, and a fresh snapshot of the analyses (they may have moved).
let structureLoad = null;
function reloadStructure(selectId = currentSection()?.id) {
  structureLoad = (structureLoad || Promise.resolve()).then(async () => {
    const [sections, feedback] = await Promise.all([
      api("GET", `/api/documents/${documentId}/sections`),
      api("GET", `/api/documents/${documentId}/feedback`),
    ]);
    const oldIndex = state.index;
    state.sections = sections.sections;
    takeItems(feedback.items);
    state.hidden = feedback.hidden;
    state.rarely = new Set(feedback.rarely_accepted || []);
    const index = state.sections.findIndex((s) => s.id === selectId);
    renderNavigator();
    select(index >= 0 ? index : Math.min(oldIndex, state.sections.length - 1));
    refreshFromServer();
  }).catch(notifyError);
  return structureLoad;
}

async function load() {
  try {
    const [detail, sections, feedback] = await Promise.all([
      api("GET", `/api/documents/${documentId}`),
      api("GET", `/api/documents/${documentId}/sections`),
      api("GET", `/api/documents/${documentId}/feedback`),
    ]);
    performance.mark("review:data");
    state.sections = sections.sections;
    state.items = new Map(feedback.items.map((i) => [i.id, i]));
    state.hidden = feedback.hidden;
    state.rarely = new Set(feedback.rarely_accepted || []);
    setDocumentStatus(detail.status, detail.risk_score, detail.not_scored_reason);
    const wanted = Number((location.hash.match(/^#section-(\d+)$/) || [])[1]);
    const index = state.sections.findIndex((s) => s.id === wanted);
    state.index = index >= 0 ? index : 0;
    sectionTools.sectionShown(currentSection());
    renderNavigator();
    renderSection();
    const data = performance.getEntriesByName("review:data", "mark")[0].startTime;
    measureAfterPaint("review:render", data);
    measureAfterPaint("review:ready", 0);
    requestAnimationFrame(() => setTimeout(() => { root.dataset.ready = "true"; }, 0));
    connectEvents();
    stats.load();
    showHidden();
    startTour();
  } catch (error) {
    nodes.title.textContent = "This document could not be loaded.";
    setError(nodes.sectionState, describeError(error));
  }
}

// ------------------------------------------------------------------ tools and shortcuts
const tabs = initTabs(document.querySelector(".tabs"));
initJumps({ tabs, countNode: nodes.count });
const sectionTools = initSectionEditing({
  documentId, textNode: nodes.text, currentSection, nextSection: () => state.sections[state.index + 1],
  reload: reloadStructure,
  onSplitMode: () => { if (currentSection()) renderText(); },
});
const stats = initStats(documentId);
const summary = initSummary(documentId, [[document.getElementById("summary-view"), {}],
  [document.getElementById("export-summary"), { brief: true }]], (itemId) => {
  const item = state.items.get(itemId);
  if (!item) return notify("That item is no longer shown (a newer analysis replaced it, or it is filtered out).", "info");
  tabs.select("tab-feedback");
  select(state.sections.findIndex((s) => s.id === item.section_id));
  cardNode(itemId)?.focus();
});
const exporter = initExport(documentId);
const chat = initChat({ documentId, currentSectionId: () => currentSection()?.id });
const custom = initCustomFeedback({
  documentId, textNode: nodes.text, currentSectionId: () => currentSection().id,
  beforeOpen: () => tabs.select("tab-feedback"),
  onCreated(item) {
    state.items.set(item.id, item);
    renderSection();
    refreshNavigatorEntry(item.section_id);
    cardNode(item.id)?.focus();
    stats.refreshSoon();
  },
});
const activityTab = initActivity(documentId, () => !$("panel-activity").hidden);
const confidence = initConfidence({ onChange: () => loadFeedback().then(showHidden).catch(notifyError) });
function showHidden() {
  confidence.hiddenCount(state.hidden);
}
document.querySelector(".tabs").addEventListener("tabchange", (event) => {
  if (event.detail === "tab-stats") stats.load();
  if (event.detail === "tab-activity") activityTab.load();
  if (event.detail === "tab-summary" || event.detail === "tab-export") summary.load();
});

function focusedItem() {
  const node = document.activeElement?.closest?.("li.fb");
  const id = node ? Number(node.dataset.itemId) : state.focusedItem;
  return id && cardNode(id) ? state.items.get(id) : null;
}

function moveItem(step) {
  const cards = [...nodes.list.querySelectorAll("li.fb")];
  if (!cards.length) return;
  const index = cards.findIndex((c) => Number(c.dataset.itemId) === focusedItem()?.id);
  const next = cards[Math.min(cards.length - 1, Math.max(0, index < 0 ? 0 : index + step))];
  tabs.select("tab-feedback");
  next.focus();
}

function navigate(step) {
  const started = performance.now();
  select(state.index + step);
  measureAfterPaint("navigate", started);
}

function decideFocused(decision) {
  const item = focusedItem();
  if (!item) return notify("Move to a feedback item first (Tab, or J and K), then press A or R.", "info", 4000);
  decide(item, decision);
}

const help = $("help-dialog");
$("help-open").addEventListener("click", () => help.showModal());
initShortcuts({
  next: () => navigate(1),
  previous: () => navigate(-1),
  nextItem: () => moveItem(1),
  previousItem: () => moveItem(-1),
  accept: () => decideFocused("accept"),
  reject: () => decideFocused("reject"),
  chat: () => { tabs.select("tab-chat"); chat.focus(); },
  help: () => help.showModal(),
});

load();
