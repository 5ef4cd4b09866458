// Upload the next version of the document under review, then open its Changes view.
import { describeError, upload } from "./api.js";
import { setError } from "./dom.js";

const box = document.getElementById("versions");
const input = document.getElementById("version-file");
const status = document.getElementById("version-status");
const errorBox = document.getElementById("version-error");

input?.addEventListener("change", async () => {
  const file = input.files[0];
  if (!file) return;
  setError(errorBox, null);
  const data = new FormData();
  data.append("file", file);
  try {
    const created = await upload(`/api/documents/${box.dataset.documentId}/versions`, data, (fraction) => {
      status.textContent = `Uploading version… ${Math.round(fraction * 100)}%`;
    });
    status.textContent = `Version ${created.version} uploaded; checking the accepted comments…`;
    window.location.assign(`/documents/${created.id}/changes`);
  } catch (error) {
    status.textContent = "";
    setError(errorBox, describeError(error));
  } finally {
    input.value = "";
  }
});
