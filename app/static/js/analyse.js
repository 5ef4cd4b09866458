// Analyse section, Analyse all and Stop. One click, one request: a button is disabled while its
// request is in flight, and the request carries a fresh Idempotency-Key, so a repeat of it (a double
// click, a retry) starts nothing twice on the server. Sections already analysed are analysed again
// only after the reviewer confirms, told what the server says is kept and replaced.
import { api, idempotencyKey } from "./api.js";
import { confirmDialog } from "./confirm.js";
import { confirmAnalyseAll } from "./estimate.js";
import { notifyError } from "./notices.js";

function plural(n, one, many) {
  return `${n} ${n === 1 ? one : many}`;
}

export function rerunMessage({ sections = [], kept = {}, replaced = {} }, sectionIds) {
  const which = sectionIds && sectionIds.length === 1 ? "This section has" : plural(sections.length, "section has", "sections have");
  return `${which} been analysed already. Analysing again keeps every decided item `
    + `(${plural(kept.decided || 0, "item", "items")} accepted or rejected) and every reviewer's own item `
    + `(${kept.custom || 0}), and replaces the model's ${plural(replaced.pending || 0, "undecided item", "undecided items")} with new ones.`;
}

export function initAnalysisButtons({ documentId, currentSectionId, active, onJobs, onAnalysis }) {
  async function analyse(sectionIds, button) {
    if (button.disabled) return;
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
    const path = `/api/documents/${documentId}/analyses`;
    const body = sectionIds ? { section_ids: sectionIds } : {};
    const send = (extra) => api("POST", path, { ...body, ...extra }, { headers: { "Idempotency-Key": idempotencyKey() } });
    try {
      // A large document: say how many model calls "Analyse all" makes, and ask first.
      if (!sectionIds && !(await confirmAnalyseAll(documentId))) return;
      let result;
      try {
        result = await send({});
      } catch (error) {
        if (error.code !== "confirm_required") throw error;
        const go = await confirmDialog({ title: "Analyse again?", message: rerunMessage(error.details, sectionIds), confirmLabel: "Analyse again" });
        if (!go) return;
        result = await send({ confirm: true });
      }
      onJobs(result.jobs);
    } catch (error) {
      notifyError(error);
    } finally {
      button.disabled = false;
      button.removeAttribute("aria-busy");
    }
  }

  document.getElementById("analyse-section").addEventListener("click", (event) => analyse([currentSectionId()], event.currentTarget));
  document.getElementById("analyse-all").addEventListener("click", (event) => analyse(null, event.currentTarget));
  document.getElementById("analysis-stop").addEventListener("click", async () => {
    try {
      for (const analysis of active()) onAnalysis(await api("POST", `/api/jobs/${analysis.id}/cancel`));
    } catch (error) {
      notifyError(error);
    }
  });
}
