// Activity events as table rows (when, who, what, on what, detail), shared by the review page's
// Activity tab and the admin activity page; every value goes in as text. And the Activity tab itself:
// the document's timeline, newest first, loaded when the tab opens and refreshed (once, shortly after)
// when a live event says something happened while it is open.
import { api, describeError } from "./api.js";
import { clear, el, setError } from "./dom.js";

const WORDS = {
  upload: "Uploaded", analysis_requested: "Analysis requested", analysis_completed: "Analysis completed",
  analysis_failed: "Analysis failed", analysis_cancelled: "Analysis cancelled", accept: "Accepted", reject: "Rejected",
  revert: "Reverted", edit: "Edited", create: "Added feedback", delete: "Deleted feedback", section_rename: "Renamed a section",
  section_merge_next: "Merged sections", section_split: "Split a section", section_change_level: "Changed a section's level",
  chat: "Asked the chat", chat_reply: "Chat replied", export: "Exported",
};

export const actionLabel = (action) => WORDS[action] || action.replaceAll("_", " ");

export function when(iso) {
  return iso ? iso.slice(0, 19).replace("T", " ") : "";
}

export function eventRow(event, { withDocument = false } = {}) {
  return el("tr", { dataset: { action: event.action } },
    el("td", {}, el("time", { datetime: event.at }, when(event.at))),
    withDocument ? el("td", {}, event.document || `document ${event.document_id}`) : null,
    el("td", {}, event.user || "AI-Prism"),
    el("td", {}, actionLabel(event.action)),
    el("td", {}, event.target || ""),
    el("td", { class: "detail" }, event.detail || ""));
}

export function initActivity(documentId, isVisible) {
  const body = document.querySelector("#activity-table tbody");
  const errorBox = document.getElementById("activity-error");
  let timer = null;

  async function load() {
    try {
      const { events } = await api("GET", `/api/documents/${documentId}/activity`);
      setError(errorBox, null);
      clear(body).append(...events.slice().reverse().map((e) => eventRow(e)));
      body.closest("table").dataset.loaded = String(events.length);
    } catch (error) {
      setError(errorBox, describeError(error));
    }
  }
  return {
    load,
    refreshSoon() {
      if (!isVisible()) return;
      clearTimeout(timer);
      timer = setTimeout(load, 500);
    },
  };
}
