// The review page: wires the navigator, section text, feedback cards, live progress, chat,
// statistics and export together. Holds the page's state; the other modules render pieces of it.
import { api, describeError } from "./api.js";
import { initChat } from "./chat.js";
import { clear, el, setError } from "./dom.js";
import { confirmAnalyseAll } from "./estimate.js";
import { subscribe } from "./events.js";
import { initExport } from "./export.js";
import { card, editor } from "./feedback.js";
import { statusLabel } from "./format.js";
import { notify, notifyError } from "./notices.js";
import { initCustomFeedback } from "./custom.js";
import { measureAfterPaint } from "./perf.js";
import { activeAnalyses, renderProgress } from "./progress.js";
import { marksFor, navigatorEntry, renderSectionText } from "./sections.js";
import { initShortcuts } from "./shortcuts.js";
import { initStats } from "./stats.js";
import { initTabs } from "./tabs.js";

performance.mark("review:start");
const root = document.getElementById("review");
const documentId = Number(root.dataset.documentId);
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
};

const currentSection = () => state.sections[state.index];
const itemsOf = (sectionId) => [...state.items.values()].filter((i) => i.section_id === sectionId)
  .sort((a, b) => (a.quote_start ?? 1e9) - (b.quote_start ?? 1e9) || a.id - b.id);

// ------------------------------------------------------------------ rendering
function renderNavigator() {
  clear(nodes.nav).append(...state.sections.map((s, i) => navigatorEntry(s, state.analyses.get(s.id), itemsOf(s.id), i === state.index)));
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
  renderSectionText(nodes.text, section.text || "", items);
  renderCards(items);
}

function renderCards(items = itemsOf(currentSection().id)) {
  const sectionId = String(currentSection().id);
  // A live update must not throw away an edit the reviewer is typing.
  if (nodes.list.dataset.sectionId === sectionId && nodes.list.querySelector(".fb-editor")) return;
  nodes.list.dataset.sectionId = sectionId;
  const shown = state.filter === "all" ? items : items.filter((i) => i.status === state.filter);
  clear(nodes.list).append(...shown.map((item) => card(item, hawkeye, handlers)));
  const pending = items.filter((i) => i.status === "pending").length;
  nodes.count.textContent = `${items.length} item${items.length === 1 ? "" : "s"}, ${pending} pending`
    + (state.hidden ? ` (${state.hidden} low-confidence in the document not shown)` : "");
  nodes.empty.hidden = shown.length > 0;
  const analysis = state.analyses.get(currentSection().id);
  nodes.empty.textContent = items.length ? "No feedback matches this filter."
    : (analysis && analysis.status === "completed" ? "The review found nothing to comment on in this section."
      : "No feedback yet. Analyse this section, or select text to add your own.");
}

function cardNode(itemId) {
  return nodes.list.querySelector(`li.fb[data-item-id="${itemId}"]`);
}

// Replace one item everywhere it shows, keeping keyboard focus on its card.
function updateItem(item) {
  state.items.set(item.id, item);
  if (item.section_id !== currentSection().id) return refreshNavigatorEntry(item.section_id);
  const old = cardNode(item.id);
  const hadFocus = old && old.contains(document.activeElement);
  if (old) {
    if (state.filter !== "all" && state.filter !== item.status) old.remove();
    else old.replaceWith(card(item, hawkeye, handlers));
  }
  renderSectionText(nodes.text, currentSection().text || "", itemsOf(item.section_id));
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
  renderSection();
  nodes.text.scrollTop = 0;
  if (focusText) nodes.text.focus();
  history.replaceState(null, "", `#section-${currentSection().id}`);
}

// ------------------------------------------------------------------ decisions and edits
const inFlight = new Set(); // a double click or a held key sends one decision, not a stale second one

async function decide(item, decision) {
  if (inFlight.has(item.id)) return;
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
    if (error.code === "version_conflict" && error.details.current) updateItem(error.details.current);
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

function edit(item) {
  const node = cardNode(item.id);
  const form = editor(item);
  node.replaceChildren(form.form);
  form.description.focus();
  form.cancel.addEventListener("click", () => updateItem(state.items.get(item.id)));
  form.form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const changes = form.changes();
    if (!Object.keys(changes).length) return updateItem(state.items.get(item.id));
    if (changes.description === "") return setError(form.error, "The feedback text cannot be empty.");
    try {
      updateItem(await api("PATCH", `/api/feedback/${item.id}`, { ...changes, version: item.version }));
      stats.refreshSoon();
    } catch (error) {
      if (error.code === "version_conflict" && error.details.current) {
        state.items.set(item.id, error.details.current);
        item = error.details.current;
      }
      setError(form.error, describeError(error));
    }
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

const handlers = {
  accept: (item) => decide(item, "accept"),
  reject: (item) => decide(item, "reject"),
  revert: (item) => decide(item, "revert"),
  edit,
  locate,
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
  const previous = state.analyses.get(analysis.section_id);
  if (previous && previous.id > analysis.id) return; // an older run's late event
  state.analyses.set(analysis.section_id, analysis);
  refreshNavigatorEntry(analysis.section_id);
  if (analysis.section_id === currentSection()?.id) renderSection();
  showProgress();
  if (["completed", "failed"].includes(analysis.status)) reloadFeedbackSoon();
}

async function analyse(sectionIds) {
  const targets = new Set(sectionIds || state.sections.map((s) => s.id));
  const decided = [...state.items.values()].filter((i) => targets.has(i.section_id) && i.source !== "custom" && i.status !== "pending");
  if (decided.length && !window.confirm(`Analysing again replaces the model's feedback on ${sectionIds ? "this section" : "these sections"}, `
    + `including ${decided.length} decision${decided.length === 1 ? "" : "s"} you made on it. Your own feedback is kept. Continue?`)) return;
  try {
    const { jobs } = await api("POST", `/api/documents/${documentId}/analyses`, sectionIds ? { section_ids: sectionIds } : undefined);
    for (const job of jobs) onAnalysis({ ...(state.analyses.get(job.section_id) || {}), ...job, progress: 0 });
    setDocumentStatus("processing");
  } catch (error) {
    notifyError(error);
  }
}
$("analyse-section").addEventListener("click", () => analyse([currentSection().id]));
$("analyse-all").addEventListener("click", async () => {
  try {
    if (await confirmAnalyseAll(documentId)) analyse(null);
  } catch (error) {
    notifyError(error);
  }
});
$("analysis-stop").addEventListener("click", async () => {
  const active = activeAnalyses([...state.analyses.values()]);
  try {
    for (const analysis of active) onAnalysis(await api("POST", `/api/jobs/${analysis.id}/cancel`));
  } catch (error) {
    notifyError(error);
  }
});

const liveWords = { live: "", reconnecting: "Live updates interrupted; reconnecting…", closed: "Live updates stopped. Reload the page to resume them." };
function connectEvents() {
  subscribe(documentId, {
    snapshot(data) {
      for (const analysis of data.analyses) state.analyses.set(analysis.section_id, analysis);
      setDocumentStatus(data.document.status, data.document.risk_score, data.document.not_scored_reason);
      renderNavigator();
      if (currentSection()) renderSection();
      showProgress();
      reloadFeedbackSoon(); // anything that finished while the stream was down
    },
    analysis: onAnalysis,
    document(data) {
      setDocumentStatus(data.status);
      if (data.status !== "processing") {
        reloadFeedbackSoon();
        stats.refreshSoon();
      }
    },
    summary(data) {
      setDocumentStatus(data.status, data.risk_score, data.not_scored_reason);
      stats.refreshSoon();
    },
    export: (data) => exporter.onEvent(data),
  }, (liveState) => { nodes.live.textContent = liveWords[liveState]; });
}

// ------------------------------------------------------------------ loading
async function loadFeedback() {
  const { items, hidden } = await api("GET", `/api/documents/${documentId}/feedback`);
  state.items = new Map(items.map((i) => [i.id, i]));
  state.hidden = hidden;
  if (!state.sections.length) return;
  const focused = nodes.list.contains(document.activeElement) ? state.focusedItem : null;
  renderNavigator();
  renderSection();
  if (focused && cardNode(focused)) cardNode(focused).focus();
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
    setDocumentStatus(detail.status, detail.risk_score, detail.not_scored_reason);
    const wanted = Number((location.hash.match(/^#section-(\d+)$/) || [])[1]);
    const index = state.sections.findIndex((s) => s.id === wanted);
    state.index = index >= 0 ? index : 0;
    renderNavigator();
    renderSection();
    const data = performance.getEntriesByName("review:data", "mark")[0].startTime;
    measureAfterPaint("review:render", data);
    measureAfterPaint("review:ready", 0);
    requestAnimationFrame(() => setTimeout(() => { root.dataset.ready = "true"; }, 0));
    connectEvents();
    stats.load();
  } catch (error) {
    nodes.title.textContent = "This document could not be loaded.";
    setError(nodes.sectionState, describeError(error));
  }
}

// ------------------------------------------------------------------ tools and shortcuts
const tabs = initTabs(document.querySelector(".tabs"));
const stats = initStats(documentId);
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
document.querySelector(".tabs").addEventListener("tabchange", (event) => {
  if (event.detail === "tab-stats") stats.load();
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
