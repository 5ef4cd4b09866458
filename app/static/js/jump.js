// On a phone the review page is one column: header, sections, the section text (scrolling in its own
// box), then the feedback. Two links cross that column in one tap: "Go to the feedback" under the
// section title (showing the feedback count) and "Back to the section text" above the cards.
// Hidden by CSS on wider screens, where text and feedback sit side by side.
export function initJumps({ tabs, countNode }) {
  const toFeedback = document.getElementById("jump-feedback");
  const toText = document.getElementById("jump-text");
  const mirror = document.getElementById("jump-feedback-count");
  const land = (node) => {
    node.scrollIntoView({ block: "start" });
    node.focus({ preventScroll: true });
  };
  toFeedback?.addEventListener("click", (event) => {
    event.preventDefault();
    tabs.select("tab-feedback");
    land(document.getElementById("panel-feedback"));
  });
  toText?.addEventListener("click", (event) => {
    event.preventDefault();
    land(document.getElementById("section-title"));
  });
  if (mirror && countNode) {
    const copy = () => { mirror.textContent = countNode.textContent ? `(${countNode.textContent})` : ""; };
    new MutationObserver(copy).observe(countNode, { childList: true, characterData: true, subtree: true });
    copy();
  }
}
