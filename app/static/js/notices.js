// One place for messages that are not tied to a form: shown at the bottom, read by screen readers.
import { describeError } from "./api.js";
import { el } from "./dom.js";

export function notify(message, kind = "error", timeoutMs = 8000) {
  const box = document.getElementById("notices");
  if (!box) return;
  const close = el("button", { type: "button", class: "link", "aria-label": "Dismiss" }, "×");
  const notice = el("div", { class: `notice ${kind}` }, el("span", {}, message), close);
  close.addEventListener("click", () => notice.remove());
  box.append(notice);
  if (timeoutMs) setTimeout(() => notice.remove(), timeoutMs);
}

export function notifyError(error) {
  notify(describeError(error), "error");
  if (error && error.code === "unauthenticated") {
    setTimeout(() => window.location.assign(`/login?next=${encodeURIComponent(location.pathname)}`), 1500);
  }
}
