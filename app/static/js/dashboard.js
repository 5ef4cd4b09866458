// The dashboard: my documents, and uploading a new one (checked here before it is sent).
import { api, describeError, upload } from "./api.js";
import { clear, el, setError } from "./dom.js";
import { bytes, percent, statusLabel, when } from "./format.js";
import { notifyError } from "./notices.js";

const form = document.getElementById("upload-form");
const input = document.getElementById("file-input");
const zone = document.getElementById("drop-zone");
const uploadError = document.getElementById("upload-error");
const uploadStatus = document.getElementById("upload-status");
const uploadLabel = document.getElementById("upload-label");
const uploadBar = document.getElementById("upload-progress");
const maxBytes = Number(form.dataset.maxBytes);
const accepted = form.dataset.accept.split(",");

// Checked here so a reviewer is not made to wait for a 20 MB upload only to be told no.
export function checkFile(file) {
  const dot = file.name.lastIndexOf(".");
  const extension = dot >= 0 ? file.name.slice(dot).toLowerCase() : "";
  if (!accepted.includes(extension)) {
    return `“${file.name}” is not a file AI-Prism can review. Upload a Word (.docx), PDF, text (.txt) or Markdown (.md) file.`;
  }
  if (file.size === 0) return `“${file.name}” is empty.`;
  if (file.size > maxBytes) {
    return `“${file.name}” is ${bytes(file.size)}; the largest file accepted is ${bytes(maxBytes)}.`;
  }
  return null;
}

function checkGuidelines(file) {
  if (!file) return null;
  if (!file.name.toLowerCase().endsWith(".docx")) return `The guidelines “${file.name}” must be a Word (.docx) file.`;
  if (file.size > maxBytes) return `The guidelines “${file.name}” are ${bytes(file.size)}; the largest file accepted is ${bytes(maxBytes)}.`;
  return null;
}

async function send(file) {
  const guidelines = document.getElementById("guidelines-input").files[0] || null;
  setError(uploadError, checkFile(file) || checkGuidelines(guidelines));
  if (!uploadError.hidden) return;
  const data = new FormData();
  data.append("file", file);
  if (guidelines) {
    data.append("guidelines", guidelines);
    data.append("guidelines_mode", document.getElementById("guidelines-mode").value);
  }
  uploadStatus.hidden = false;
  uploadBar.value = 0;
  uploadLabel.textContent = `Uploading ${file.name}…`;
  input.disabled = true;
  try {
    const documentData = await upload("/api/documents", data, (fraction) => {
      uploadBar.value = Math.round(fraction * 100);
      uploadLabel.textContent = fraction < 1 ? `Uploading ${file.name}: ${percent(fraction)}` : `Reading ${file.name}…`;
    });
    uploadBar.value = 100;
    uploadLabel.textContent = `${file.name} uploaded: ${documentData.sections.length} sections found. Opening it…`;
    window.location.assign(`/documents/${documentData.id}`);
  } catch (error) {
    uploadStatus.hidden = true;
    setError(uploadError, describeError(error));
  } finally {
    input.disabled = false;
    input.value = "";
  }
}

input.addEventListener("change", () => {
  if (input.files.length) send(input.files[0]);
});
for (const name of ["dragenter", "dragover"]) {
  zone.addEventListener(name, (event) => {
    event.preventDefault();
    zone.classList.add("dragging");
  });
}
for (const name of ["dragleave", "drop"]) {
  zone.addEventListener(name, () => zone.classList.remove("dragging"));
}
zone.addEventListener("drop", (event) => {
  event.preventDefault();
  const files = event.dataTransfer.files;
  if (files.length > 1) setError(uploadError, "Drop one file at a time.");
  else if (files.length === 1) send(files[0]);
});

function row(doc) {
  const progress = doc.progress || { sections: 0, analysed: 0, active: 0, failed: 0 };
  const fraction = progress.sections ? progress.analysed / progress.sections : 0;
  const link = el("a", { href: `/documents/${doc.id}` }, doc.title);
  const remove = el("button", { type: "button", class: "link danger", "aria-label": `Delete ${doc.title}` }, "Delete");
  remove.addEventListener("click", async () => {
    if (!window.confirm(`Delete “${doc.title}” and all its feedback? This cannot be undone.`)) return;
    try {
      await api("DELETE", `/api/documents/${doc.id}`);
      load();
    } catch (error) {
      notifyError(error);
    }
  });
  const progressText = `${progress.analysed} of ${progress.sections} sections analysed`
    + (progress.active ? `, ${progress.active} in progress` : "") + (progress.failed ? `, ${progress.failed} failed` : "");
  return el("tr", { dataset: { documentId: doc.id } },
    // data-label: the column's name, shown beside the value when the table is cards (narrow screens).
    el("td", { class: "card-title", dataset: { label: "Name" } }, link,
      el("div", { class: "muted small" }, `${doc.filename} · ${bytes(doc.size_bytes)}`)),
    el("td", { dataset: { label: "Status" } }, el("span", { class: `badge status-${doc.status}` }, statusLabel(doc.status))),
    el("td", { dataset: { label: "Risk score" } }, riskCell(doc)),
    el("td", { dataset: { label: "Progress" } }, el("div", {},
      el("progress", { max: 100, value: Math.round(fraction * 100), "aria-label": progressText }),
      el("div", { class: "small muted" }, progressText))),
    el("td", { dataset: { label: "Last activity" } },
      el("time", { datetime: doc.last_activity || "", title: doc.last_activity ? new Date(doc.last_activity).toLocaleString() : null },
        when(doc.last_activity))),
    el("td", { class: "card-actions", dataset: { label: "Actions" } }, remove));
}

// A document whose analyses all failed has no score: say so and why, never show 0.
function riskCell(doc) {
  if (doc.risk_score !== null && doc.risk_score !== undefined) return String(Math.round(doc.risk_score));
  if (!doc.not_scored_reason) return "—";
  return el("span", { class: "not-scored", title: doc.not_scored_reason }, "not scored",
    el("div", { class: "small muted" }, doc.not_scored_reason));
}

let refreshTimer = null;

async function load() {
  clearTimeout(refreshTimer);
  const table = document.getElementById("docs-table");
  const body = document.getElementById("docs-body");
  const errorBox = document.getElementById("docs-error");
  try {
    const { documents } = await api("GET", "/api/documents");
    setError(errorBox, null);
    clear(body).append(...documents.map(row));
    table.hidden = documents.length === 0;
    document.getElementById("docs-empty").hidden = documents.length > 0;
    // While a document is being analysed its progress moves: look again shortly.
    if (documents.some((d) => d.status === "processing" || (d.progress && d.progress.active))) {
      refreshTimer = setTimeout(() => { if (!document.hidden) load(); else refreshTimer = setTimeout(load, 5000); }, 3000);
    }
  } catch (error) {
    setError(errorBox, describeError(error));
  }
}

document.getElementById("refresh-docs").addEventListener("click", load);
load();
