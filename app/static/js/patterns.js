// The patterns page: recurring issues across documents (GET /api/patterns, ?scope=all for admins).
import { api, describeError } from "./api.js";
import { clear, el, setError } from "./dom.js";

const list = document.getElementById("patterns-list");
const empty = document.getElementById("patterns-empty");
const errorBox = document.getElementById("patterns-error");
const everyone = document.getElementById("patterns-all");

function entry(p) {
  return el("li", { class: "card pattern", dataset: { kind: p.kind } },
    el("div", { class: "row spread" }, el("h2", {}, p.label),
      el("span", { class: "badge pattern-count" }, `${p.count} items in ${p.documents.length} documents`)),
    el("p", {}, p.description),
    el("p", { class: "small" }, "Documents: ",
      ...p.documents.flatMap((d, i) => [i ? ", " : "", el("a", { href: `/documents/${d.id}` }, d.title)])),
    p.examples.length ? el("ul", { class: "small" }, p.examples.map((x) => el("li", {}, el("q", {}, x.quote)))) : null);
}

async function load() {
  try {
    const data = await api("GET", `/api/patterns${everyone?.checked ? "?scope=all" : ""}`);
    setError(errorBox, "");
    clear(list).append(...data.patterns.map(entry));
    empty.hidden = data.patterns.length > 0;
  } catch (error) {
    setError(errorBox, describeError(error));
  }
}

everyone?.addEventListener("change", load);
load();
