// Keyboard shortcuts for the review page. Typing in a field never triggers them.
function typing(target) {
  return target.closest("input, textarea, select, [contenteditable=true]") !== null;
}

export function initShortcuts(actions) {
  const keys = { n: actions.next, p: actions.previous, j: actions.nextItem, k: actions.previousItem,
    a: actions.accept, r: actions.reject, c: actions.chat, "?": actions.help };
  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || event.defaultPrevented) return;
    if (typing(event.target) || document.querySelector("dialog[open]")) return;
    const action = keys[event.key.length === 1 ? event.key.toLowerCase() : event.key];
    if (!action) return;
    event.preventDefault();
    action(event);
  });
}
