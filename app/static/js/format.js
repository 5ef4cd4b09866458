// Words and numbers as a reviewer reads them.
const STATUS = {
  uploaded: "Not analysed", processing: "Analysing", partially_completed: "Partly analysed",
  completed: "Analysed", failed: "Failed", queued: "Waiting", running: "Analysing", deferred: "Waiting for a model",
  cancelled: "Cancelled", pending: "Pending", accepted: "Accepted", rejected: "Rejected",
};

export function statusLabel(status) {
  return STATUS[status] || status || "Not analysed";
}

export function bytes(size) {
  if (size < 1024) return `${size} bytes`;
  if (size < 1024 * 1024) return `${(size / 1024).toFixed(0)} KB`;
  return `${(size / 1024 / 1024).toFixed(1)} MB`;
}

export function when(iso) {
  if (!iso) return "—";
  const date = new Date(iso);
  const seconds = (Date.now() - date.getTime()) / 1000;
  if (seconds < 45) return "just now";
  if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.round(seconds / 3600)} h ago`;
  return date.toLocaleDateString(undefined, { year: "numeric", month: "short", day: "numeric" });
}

export function percent(fraction) {
  return `${Math.round(fraction * 100)}%`;
}

export const RISK_ORDER = { High: 3, Medium: 2, Low: 1 };

export function highestRisk(items) {
  let best = null;
  for (const item of items) {
    if (!best || (RISK_ORDER[item.risk_level] || 0) > (RISK_ORDER[best] || 0)) best = item.risk_level;
  }
  return best;
}
