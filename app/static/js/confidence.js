// The reviewer's own confidence threshold: model items below it are hidden (custom items never are).
// Stored per user on the server (PUT /api/me/preferences), never below the deployment's minimum.
import { api, describeError } from "./api.js";
import { setError } from "./dom.js";

export function initConfidence({ onChange }) {
  const form = document.getElementById("confidence-form");
  const input = document.getElementById("confidence-input");
  const errorBox = document.getElementById("confidence-error");
  const hidden = document.getElementById("confidence-hidden");

  api("GET", "/api/me/preferences").then((p) => { input.value = String(p.effective_min_confidence); })
    .catch((error) => setError(errorBox, describeError(error)));

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const value = input.value === "" ? null : Number(input.value);
    try {
      const saved = await api("PUT", "/api/me/preferences", { min_confidence: value });
      input.value = String(saved.effective_min_confidence);
      setError(errorBox, null);
      onChange();
    } catch (error) {
      setError(errorBox, describeError(error));
    }
  });
  return {
    hiddenCount(count) {
      hidden.textContent = count ? `${count} item${count === 1 ? "" : "s"} hidden.` : "";
    },
  };
}
