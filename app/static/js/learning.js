// The admin page's learning loop: its switch, what each team's decisions taught, the analyses it
// changed, and a user's team.
import { api, describeError } from "./api.js";
import { clear, el, setError } from "./dom.js";

const toggle = document.getElementById("learning-enabled");
const errorBox = document.getElementById("learning-error");
const teams = document.querySelector("#learning-teams tbody");
const recent = document.getElementById("learning-recent");
const groupForm = document.getElementById("group-form");
const groupUser = document.getElementById("group-user");

async function load() {
  try {
    const [data, { users }] = await Promise.all([api("GET", "/api/admin/learning"), api("GET", "/api/admin/users")]);
    toggle.checked = data.enabled;
    clear(teams).append(...data.teams.map((t) => el("tr", {},
      el("td", {}, t.team),
      el("td", {}, t.rarely_accepted.join(", ") || "none"),
      el("td", {}, Object.entries(t.categories).map(([c, r]) => `${c}: ${r.accepted} / ${r.rejected}`).join("; ") || "no decisions yet"))));
    clear(recent).append(...data.recent.slice(0, 10).map((r) => el("li", {},
      `Analysis ${r.analysis_id} (document ${r.document_id}): named ${r.learning.rarely_accepted.join(", ") || "no category"}, `
      + `${r.learning.example_item_ids.length} example(s)`)));
    const chosen = groupUser.value;
    clear(groupUser).append(...users.map((u) => el("option", { value: u.id }, `${u.email} (${u.review_group || "deployment"})`)));
    if (chosen) groupUser.value = chosen;
    setError(errorBox, null);
  } catch (error) {
    setError(errorBox, describeError(error));
  }
}

toggle.addEventListener("change", async () => {
  try {
    await api("POST", "/api/admin/learning", { enabled: toggle.checked });
    load();
  } catch (error) {
    setError(errorBox, describeError(error));
  }
});

groupForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const { user_id: userId, group } = Object.fromEntries(new FormData(groupForm).entries());
  try {
    await api("POST", `/api/admin/users/${userId}/group`, { group: group.trim() || null });
    load();
  } catch (error) {
    setError(errorBox, describeError(error));
  }
});

load();
