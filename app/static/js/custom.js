// Custom feedback: the reviewer selects text in the section, then writes an item quoting it.
import { api, describeError } from "./api.js";
import { setError } from "./dom.js";

export function initCustomFeedback({ documentId, textNode, currentSectionId, beforeOpen, onCreated }) {
  const form = document.getElementById("custom-form");
  const button = document.getElementById("add-custom");
  const quote = document.getElementById("custom-quote");
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

  button.addEventListener("click", () => {
    if (!selected) return;
    beforeOpen();
    quote.textContent = selected;
    setError(errorBox, null);
    form.hidden = false;
    document.getElementById("custom-description").focus();
  });
  document.getElementById("custom-cancel").addEventListener("click", hide);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = Object.fromEntries(new FormData(form).entries());
    if (!data.description.trim()) return setError(errorBox, "Write the feedback text first.");
    try {
      const item = await api("POST", `/api/documents/${documentId}/feedback`,
        { ...data, category: data.category || "Reviewer", section_id: currentSectionId(), quote: selected });
      hide();
      onCreated(item);
    } catch (error) {
      setError(errorBox, describeError(error));
    }
  });
  return { hide };
}
