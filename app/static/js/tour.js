// The first-run tour of the review page: a few steps pointing at the main tools. Dismissing it (or
// finishing it) is remembered in this browser; the help page can bring it back.
import { el } from "./dom.js";

export const TOUR_KEY = "ai-prism:tour-dismissed";

const STEPS = [
  ["section-list", "Sections", "The document's sections. Pick one to read it; its feedback shows on the right."],
  ["analyse-all", "Analyse", "Analyse all sections (or the current one). Items arrive as each section finishes."],
  ["panel-feedback", "Feedback", "Accept, reject or edit each item. Add your own on selected text or on the whole section."],
  ["tab-activity", "Activity", "Everything that happened to this document, by whom and when."],
  ["tab-export", "Export", "A Word file with comments, records, or the complete package with a report."],
];

export function startTour({ force = false } = {}) {
  if (!force && localStorage.getItem(TOUR_KEY)) return null;
  let index = 0;
  const title = el("h2", { id: "tour-title" });
  const text = el("p", { id: "tour-text" });
  const step = el("p", { class: "muted small" });
  const back = el("button", { type: "button", class: "secondary" }, "Back");
  const next = el("button", { type: "button" }, "Next");
  const close = el("button", { type: "button", class: "secondary", id: "tour-dismiss" }, "Don't show again");
  const box = el("section", { class: "tour card", id: "tour", role: "dialog", "aria-modal": "false", "aria-labelledby": "tour-title",
    "aria-describedby": "tour-text" }, title, text, step, el("div", { class: "row" }, back, next, close));

  function show() {
    const [target, heading, words] = STEPS[index];
    title.textContent = heading;
    text.textContent = words;
    step.textContent = `Step ${index + 1} of ${STEPS.length}`;
    back.disabled = index === 0;
    next.textContent = index === STEPS.length - 1 ? "Finish" : "Next";
    document.querySelectorAll(".tour-target").forEach((n) => n.classList.remove("tour-target"));
    document.getElementById(target)?.classList.add("tour-target");
  }
  function dismiss() {
    localStorage.setItem(TOUR_KEY, new Date().toISOString());
    document.querySelectorAll(".tour-target").forEach((n) => n.classList.remove("tour-target"));
    box.remove();
  }
  back.addEventListener("click", () => { index = Math.max(0, index - 1); show(); });
  next.addEventListener("click", () => { if (index === STEPS.length - 1) dismiss(); else { index += 1; show(); } });
  close.addEventListener("click", dismiss);
  box.addEventListener("keydown", (event) => { if (event.key === "Escape") dismiss(); });
  document.body.append(box);
  show();
  next.focus();
  return box;
}
