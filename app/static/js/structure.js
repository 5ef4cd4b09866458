// Section editing: rename, change level, merge with the next section, split at a paragraph; each with
// one-step undo, which is the inverse call (rename back, split where merged, merge what was split,
// level back). The server moves feedback with its text; the page then reloads the sections.
import { api, describeError } from "./api.js";
import { clear, el, setError } from "./dom.js";
import { notify } from "./notices.js";

const $ = (id) => document.getElementById(id);

export function initSectionEditing({ documentId, currentSection, nextSection, reload, textNode, onSplitMode }) {
  const nodes = {
    rename: $("section-rename"), level: $("section-level"), merge: $("section-merge"), split: $("section-split"),
    form: $("rename-form"), input: $("rename-input"), cancel: $("rename-cancel"), title: $("section-title"),
    hint: $("split-hint"), splitCancel: $("split-cancel"), undoBox: $("section-undo"), undoText: $("section-undo-text"),
    undo: $("section-undo-button"), error: $("section-edit-error"),
  };
  let undoAction = null;
  let queue = Promise.resolve();
  let splitting = false;
  let shownId = null;

  const path = (section) => `/api/documents/${documentId}/sections/${section.id}`;
  const patch = (section, body) => api("PATCH", path(section), body);

  // One edit at a time, in the order asked; the page reloads the sections after each and keeps the
  // given section open. Resolves true when the edit was saved.
  function run(work, describe) {
    queue = queue.then(async () => {
      setError(nodes.error, null);
      try {
        const result = await work();
        const { selectId, message, undo } = describe(result);
        await reload(selectId);
        offerUndo(message, undo);
        return true;
      } catch (error) {
        setError(nodes.error, describeError(error));
        return false;
      }
    });
    return queue;
  }

  function offerUndo(message, undo) {
    undoAction = undo;
    nodes.undoText.textContent = message + (undo ? "" : " This cannot be undone here.");
    nodes.undo.hidden = !undo;
    nodes.undoBox.hidden = false;
  }

  nodes.undo.addEventListener("click", () => {
    const undo = undoAction;
    if (!undo) return;
    undoAction = null;
    nodes.undoBox.hidden = true;
    run(undo.work, () => ({ selectId: undo.selectId(), message: `Undone: ${undo.label}.`, undo: null }));
  });

  // ---------------------------------------------------------------- rename
  function openRename() {
    const section = currentSection();
    if (!section) return;
    nodes.input.value = section.title || "";
    nodes.form.hidden = false;
    nodes.title.hidden = true;
    nodes.input.focus();
    nodes.input.select();
  }
  function closeRename() {
    nodes.form.hidden = true;
    nodes.title.hidden = false;
    nodes.rename.focus();
  }
  nodes.rename.addEventListener("click", openRename);
  nodes.cancel.addEventListener("click", closeRename);
  nodes.input.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      event.preventDefault();
      closeRename();
    }
  });
  nodes.form.addEventListener("submit", (event) => {
    event.preventDefault();
    const section = currentSection();
    const before = section.title;
    const title = nodes.input.value.trim();
    if (!title) return setError(nodes.error, "A section needs a title.");
    if (title === before) return closeRename();
    run(() => patch(section, { title }), () => ({
      selectId: section.id, message: `Renamed “${before}” to “${title}”.`,
      undo: { label: "rename", selectId: () => section.id, work: () => patch(section, { title: before }) },
    })).then((saved) => { if (saved && !nodes.form.hidden) closeRename(); });
  });

  // ---------------------------------------------------------------- level
  nodes.level.addEventListener("change", () => {
    const section = currentSection();
    const before = section.level || 1;
    const level = Number(nodes.level.value);
    run(() => patch(section, { level }), () => ({
      selectId: section.id, message: `“${section.title}” is now level ${level}.`,
      undo: { label: "level change", selectId: () => section.id, work: () => patch(section, { level: before }) },
    }));
  });

  // ---------------------------------------------------------------- merge with next
  nodes.merge.addEventListener("click", () => {
    const section = currentSection();
    const next = nextSection();
    if (!next) return notify("This is the last section; there is nothing to merge it with.", "info", 4000);
    const paragraphs = (section.paragraphs || []).length;
    let restored = null;
    const undo = paragraphs ? {
      label: "merge",
      selectId: () => section.id,
      async work() {
        const { sections } = await patch(section, { action: "split", at: paragraphs, title: next.title });
        restored = sections[1];
        if ((next.level || 1) !== (restored.level || 1)) await patch(restored, { level: next.level || 1 });
      },
    } : null;
    run(() => patch(section, { action: "merge_next" }), () => ({
      selectId: section.id, message: `Merged “${next.title}” into “${section.title}”.`, undo,
    }));
  });

  // ---------------------------------------------------------------- split at a paragraph
  function setSplitting(on) {
    splitting = on;
    nodes.split.setAttribute("aria-pressed", String(on));
    nodes.hint.hidden = !on;
    onSplitMode(on);
  }
  nodes.split.addEventListener("click", () => {
    const section = currentSection();
    if (!splitting && (section.paragraphs || []).length < 2) {
      return notify("This section has a single paragraph; there is nowhere to split it.", "info", 4000);
    }
    setSplitting(!splitting);
  });
  nodes.splitCancel.addEventListener("click", () => { setSplitting(false); nodes.split.focus(); });

  function splitAt(at) {
    const section = currentSection();
    setSplitting(false);
    run(() => patch(section, { action: "split", at }), ({ sections }) => ({
      selectId: section.id, message: `Split “${section.title}”; the new section is “${sections[1].title}”.`,
      undo: { label: "split", selectId: () => section.id, work: () => patch(section, { action: "merge_next" }) },
    }));
  }

  // The text with a "Split here" button before every paragraph but the first.
  function renderSplitText(section) {
    const text = section.text || "";
    const starts = section.paragraphs || [];
    const fragment = document.createDocumentFragment();
    starts.forEach((start, index) => {
      const end = index + 1 < starts.length ? starts[index + 1] : text.length;
      const paragraph = text.slice(start, end).replace(/\n$/, "");
      if (index > 0) {
        const words = paragraph.split(/\s+/).slice(0, 6).join(" ");
        const button = el("button", { type: "button", class: "small-button split-here", dataset: { at: index },
          "aria-label": `Split here, before paragraph ${index + 1}: ${words}` }, "✂ Split here");
        button.addEventListener("click", () => splitAt(index));
        fragment.append(button);
      }
      fragment.append(el("p", { class: "split-paragraph" }, paragraph));
    });
    clear(textNode).append(fragment);
    textNode.querySelector(".split-here")?.focus();
  }

  return {
    // Called when another section is shown: tools reflect it, split mode and rename end.
    // A reload of the same section (after an edit here or elsewhere) keeps a rename being typed.
    sectionShown(section) {
      const same = section && section.id === shownId;
      shownId = section?.id ?? null;
      if (splitting) setSplitting(false);
      if (!same && !nodes.form.hidden) { nodes.form.hidden = true; nodes.title.hidden = false; }
      nodes.level.value = String(Math.min(9, Math.max(1, section?.level || 1)));
      nodes.merge.disabled = !nextSection();
    },
    get splitting() { return splitting; },
    renderSplitText,
  };
}
