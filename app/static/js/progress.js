// The document's analysis progress bar and its words, from each section's newest analysis.
const ACTIVE = ["queued", "running", "deferred"];
const FINISHED = ["completed", "failed", "cancelled"];

export function renderProgress(analyses, { block, bar, label, stop }) {
  if (!analyses.length) return;
  const active = analyses.filter((a) => ACTIVE.includes(a.status));
  const done = analyses.filter((a) => a.status === "completed").length;
  const failed = analyses.filter((a) => a.status === "failed").length;
  const deferred = active.filter((a) => a.status === "deferred");
  const waiting = deferred.length;
  // The soonest moment a waiting section is tried again (a deferral never fails while a model is usable).
  const nextTry = deferred.map((a) => a.deferred_until).filter(Boolean).sort()[0];
  const nextWords = nextTry ? ` (next try at ${new Date(nextTry).toLocaleTimeString()})` : "";
  const work = analyses.reduce((sum, a) => sum + (FINISHED.includes(a.status) ? 1 : a.status === "running" ? a.progress || 0 : 0), 0);
  block.hidden = false;
  bar.value = Math.round((work / analyses.length) * 100);
  label.textContent = active.length
    ? `Analysing: ${done} of ${analyses.length} sections done${failed ? `, ${failed} failed` : ""}${waiting ? `, ${waiting} waiting for a free model${nextWords}` : ""}.`
    : `Analysis finished: ${done} of ${analyses.length} sections analysed${failed ? `, ${failed} failed (analyse them again to retry)` : ""}.`;
  block.dataset.state = active.length ? "running" : "done";
  stop.hidden = !active.length;
}

export function activeAnalyses(analyses) {
  return analyses.filter((a) => ACTIVE.includes(a.status));
}
