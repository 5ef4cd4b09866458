// The statistics panel for one document.
import { api, describeError } from "./api.js";
import { clear, el } from "./dom.js";

export function initStats(documentId) {
  const list = document.getElementById("stats");
  document.getElementById("stats-csv").href = `/api/documents/${documentId}/stats?format=csv`;
  let timer = null;

  async function load() {
    try {
      const s = await api("GET", `/api/documents/${documentId}/stats`);
      const byRisk = s.by_risk || {};
      const byStatus = s.by_status || {};
      const rows = [
        ["Sections analysed", `${s.sections_analysed} of ${s.sections} (${Math.round((s.completion || 0) * 100)}%)`],
        ["Risk score", s.risk_score !== null && s.risk_score !== undefined ? String(Math.round(s.risk_score))
          : s.not_scored_reason ? `not scored: ${s.not_scored_reason}` : "not yet scored"],
        ["Feedback items", String(s.items)],
        ["High / medium / low risk", `${byRisk.High || 0} / ${byRisk.Medium || 0} / ${byRisk.Low || 0}`],
        ["Pending", String(byStatus.pending || 0)],
        ["Accepted", String(s.accepted)],
        ["Rejected", String(s.rejected)],
        ["Added by reviewers", String(s.custom)],
        ["Acceptance rate", s.acceptance_rate === null ? "no decisions yet" : `${Math.round(s.acceptance_rate * 100)}%`],
      ];
      clear(list).append(...rows.flatMap(([term, value]) => [el("dt", {}, term), el("dd", {}, value)]));
    } catch (error) {
      clear(list).append(el("dd", { class: "error" }, describeError(error)));
    }
  }

  return {
    load,
    // Many decisions in a row ask once.
    refreshSoon() {
      clearTimeout(timer);
      timer = setTimeout(load, 400);
    },
  };
}
