// Before "Analyse all" on a large document: say how many model calls it will make, and ask first.
// The server counts them (sections × chunks under MAX_CHUNKS_PER_ANALYSIS) in the document detail.
import { api } from "./api.js";

const number = (n) => n.toLocaleString("en-GB");

export function estimateMessage(estimate) {
  const parts = [`Analyse all will review ${number(estimate.sections)} sections with at least `
    + `${number(estimate.model_calls)} model calls.`];
  if (estimate.sections_cut_short) {
    parts.push(`${number(estimate.sections_cut_short)} long section${estimate.sections_cut_short === 1 ? " is" : "s are"} `
      + `reviewed on their first ${estimate.max_chunks_per_analysis} parts only.`);
  }
  parts.push("Other reviewers' analyses take turns with yours, so a large run can take a while. Continue?");
  return parts.join(" ");
}

// Resolves to true when the analysis should go ahead: a small document, or the reviewer agreed.
export async function confirmAnalyseAll(documentId) {
  const { analysis_estimate: estimate } = await api("GET", `/api/documents/${documentId}`);
  return !estimate?.confirm || window.confirm(estimateMessage(estimate));
}
