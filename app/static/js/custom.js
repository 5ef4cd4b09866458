// Custom feedback: the reviewer selects text in the section and writes an item quoting it, or writes
// one on the whole section (no quote). Category and Hawkeye points come from the checklist.
import { api, describeError } from "./api.js";
import { setError } from "./dom.js";

export function initCustomFeedback({ documentId, textNode, currentSectionId, beforeOpen, onCreated }) {
  const form = document.getElementById("custom-form");
  const button = document.getElementById("add-custom");
  const sectionButton = document.getElementById("add-custom-section");
  const quote = document.getElementById("custom-quote");
  const on = document.getElementById("custom-on");
  const errorBox = document.getElementById("custom-error");
  let selected = null;

  document.addEventListener("selectionchange", () => {
    if (!form.hidden) return; // the quote is fixed once the form is open
    const selection = window.getSelection();
    const inside = selection.rangeCount && !selection.isCollapsed && textNode.contains(selection.anchorNode)
      && textNode.contains(selection.focusNode);
    const text = inside ? selection.toString().trim() : "";
    selected = text ? text.slice(0, 1000) : null;
    button.disabled = !selected;
  });

  function hide() {
    form.reset();
    form.hidden = true;
    selected = null;
    button.disabled = true;
  }

  function open(withQuote) {
    beforeOpen();
    if (withQuote) {
      quote.textContent = selected;
      on.replaceChildren("On: ", quote);
    } else {
      selected = null;
      on.textContent = "On the whole section (no passage selected).";
    }
    setError(errorBox, null);
    form.hidden = false;
    document.getElementById("custom-description").focus();
  }

  button.addEventListener("click", () => { if (selected) open(true); });
  sectionButton.addEventListener("click", () => open(false));
  document.getElementById("custom-cancel").addEventListener("click", hide);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const fields = new FormData(form);
    const data = Object.fromEntries([...fields.entries()].filter(([name]) => name !== "hawkeye_refs"));
    if (!data.description.trim()) return setError(errorBox, "Write the feedback text first.");
    const body = { ...data, category: data.category || "Reviewer", section_id: currentSectionId(),
      hawkeye_refs: fields.getAll("hawkeye_refs").map(Number) };
    if (selected) body.quote = selected;
    try {
      const item = await api("POST", `/api/documents/${documentId}/feedback`, body);
      hide();
      onCreated(item);
    } catch (error) {
      setError(errorBox, describeError(error));
    }
  });
  return { hide };
}
