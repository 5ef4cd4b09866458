// Export: choose formats, watch the job, download the files.
import { api, describeError, idempotencyKey } from "./api.js";
import { bytes } from "./format.js";
import { clear, el, setError } from "./dom.js";

const NAMES = { docx: "Word document with comments", json: "Records (JSON)", csv: "Spreadsheet (CSV)", package: "complete package (zip)" };

export function initExport(documentId) {
  const form = document.getElementById("export-form");
  const status = document.getElementById("export-status");
  const files = document.getElementById("export-files");
  const errorBox = document.getElementById("export-error");
  const start = document.getElementById("export-start");
  let current = null;
  let timer = null;

  function render(exportData) {
    if (exportData.status === "completed") {
      const unplaced = (exportData.files.find((file) => file.format === "docx") || {}).unplaced;
      status.textContent = "Export ready." + (unplaced && unplaced.count
        ? ` In the Word file, ${unplaced.count} item(s) are not marked on their whole quoted text (item `
          + `${unplaced.items.map((entry) => entry.item_id).join(", ")}).`
        : "");
      clear(files).append(...exportData.files.map((file) => el("li", {},
        el("a", { href: file.url, download: file.name, class: "button", dataset: { format: file.format } },
          `Download ${NAMES[file.format] || file.format}`), " ", el("span", { class: "muted small" }, `${file.name}, ${bytes(file.size)}`))));
      start.disabled = false;
    } else if (exportData.status === "failed") {
      status.textContent = "";
      setError(errorBox, `The export failed: ${exportData.error || "no reason was given"}. Try again.`);
      start.disabled = false;
    } else {
      status.textContent = exportData.status === "running" ? "Building the files…" : "Waiting for a worker to build the files…";
    }
  }

  async function check() {
    if (!current) return;
    try {
      const data = await api("GET", `/api/exports/${current}`);
      render(data);
      if (data.status === "completed" || data.status === "failed") {
        current = null;
        return;
      }
    } catch (error) {
      setError(errorBox, describeError(error));
    }
    clearTimeout(timer);
    timer = setTimeout(check, 1000);
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (start.disabled) return; // the button is disabled while its request is in flight
    setError(errorBox, null);
    const formats = [...form.querySelectorAll("input[name=format]:checked")].map((box) => box.value);
    if (!formats.length) {
      setError(errorBox, "Choose at least one format.");
      return;
    }
    start.disabled = true;
    clear(files);
    try {
      // One key per click: a repeat of this request (a retry, a double submit) builds nothing twice.
      const data = await api("POST", `/api/documents/${documentId}/exports`,
        { formats, include_all: document.getElementById("export-all").checked },
        { headers: { "Idempotency-Key": idempotencyKey() } });
      current = data.id;
      render(data);
      check();
    } catch (error) {
      setError(errorBox, describeError(error));
      start.disabled = false;
    }
  });

  // The server announces a finished export over the document's event stream: check at once.
  return { onEvent: (data) => { if (current && data.id === current) check(); } };
}
