// The admin page: model chain state, queues and workers, recent model calls, users (add, disable or
// enable, reset a password). Refreshes itself.
import { api, describeError } from "./api.js";
import { clear, el, setError } from "./dom.js";
import { when } from "./format.js";
import { notifyError } from "./notices.js";

const errorBox = document.getElementById("admin-error");
const body = (id) => document.querySelector(`#${id} tbody`);
const seconds = (s) => (s > 0 ? `${s.toFixed(1)} s` : "—");

function renderModels(data) {
  document.getElementById("models-provider").textContent = data.provider === "offline"
    ? "Provider: offline rules reviewer (no model calls)." : `Provider: Bedrock, ${data.models.length} models in order.`;
  clear(body("models-table")).append(...data.models.map((m) => {
    const recent = m.last_5_minutes || {};
    const cooling = m.disabled_remaining_s > 0 ? `unusable (${m.disabled_reason || "error"}), next probe in ${seconds(m.disabled_remaining_s)}`
      : m.cooldown_remaining_s > 0 ? `cooling ${seconds(m.cooldown_remaining_s)} (level ${m.escalation_level})` : "ready";
    return el("tr", {},
      el("td", {}, el("div", {}, m.label || m.id), el("div", { class: "small muted" }, m.id)),
      el("td", {}, cooling),
      el("td", {}, `${Math.round(m.learned_rpm ?? 0)} of ${m.configured_rpm ?? m.rpm ?? "?"}`),
      el("td", {}, `${Math.round(m.learned_tpm ?? 0)} of ${m.configured_tpm ?? m.tpm ?? "?"}`),
      el("td", {}, `${(m.learned_concurrency ?? 0).toFixed(1)} of ${m.configured_concurrency ?? "?"} (${m.in_flight ?? 0} in flight)`),
      el("td", {}, m.last_probe_at_ms ? when(new Date(m.last_probe_at_ms).toISOString()) : "never"),
      el("td", {}, `${recent.calls || 0} calls, ${recent.throttles || 0} throttled, ${recent.errors || 0} errors`));
  }));
}

function renderQueues(data) {
  clear(body("queues-table")).append(...data.queues.map((q) => el("tr", {},
    el("td", {}, q.name), el("td", {}, String(q.queued)), el("td", {}, String(q.running)),
    el("td", {}, String(q.scheduled + q.deferred)), el("td", {}, String(q.failed)))));
  clear(body("workers-table")).append(...data.workers.map((w) => el("tr", {},
    el("td", {}, el("div", {}, w.name), el("div", { class: "small muted" }, `${w.hostname || ""} pid ${w.pid ?? "?"}`)),
    el("td", {}, w.state), el("td", {}, w.queues.join(", ")), el("td", {}, w.current_job || "—"),
    el("td", {}, `${w.successful_jobs} / ${w.failed_jobs}`), el("td", {}, when(w.last_heartbeat)))));
  document.getElementById("workers-empty").hidden = data.workers.length > 0;
}

function renderCalls(data) {
  clear(body("calls-table")).append(...data.calls.map((c) => el("tr", {},
    el("td", {}, when(c.at)), el("td", {}, c.purpose), el("td", {}, c.model),
    el("td", {}, c.error_code ? `${c.outcome} (${c.error_code})` : c.outcome),
    el("td", {}, `${c.input_tokens} / ${c.output_tokens} (${c.cache_read_tokens})`), el("td", {}, `${c.latency_ms} ms`))));
  document.getElementById("calls-empty").hidden = data.calls.length > 0;
}

let me = null;  // the signed-in admin, who may not disable themselves

function renderUsers(data) {
  clear(body("users-table")).append(...data.users.map((u) => el("tr", {},
    el("td", {}, u.email), el("td", {}, u.display_name || "—"), el("td", {}, u.role), el("td", {}, when(u.last_login_at)),
    el("td", {}, u.disabled ? "disabled" : "active"),
    el("td", {}, u.id === me?.id ? "—" : el("button", {
      type: "button", class: "secondary small", dataset: { userId: String(u.id), action: u.disabled ? "enable" : "disable" },
      "aria-label": `${u.disabled ? "Enable" : "Disable"} ${u.email}`,
    }, u.disabled ? "Enable" : "Disable")))));
  const select = document.getElementById("reset-user");
  const chosen = select.value;
  clear(select).append(...data.users.filter((u) => u.id !== me?.id).map((u) => el("option", { value: String(u.id) }, u.email)));
  if (chosen) select.value = chosen;
}

async function refresh() {
  try {
    const [models, queues, calls, users] = await Promise.all([
      api("GET", "/api/admin/models"), api("GET", "/api/admin/queues"),
      api("GET", "/api/admin/model-calls?limit=25"), api("GET", "/api/admin/users"),
    ]);
    renderModels(models);
    renderQueues(queues);
    renderCalls(calls);
    renderUsers(users);
    setError(errorBox, null);
    document.getElementById("admin-updated").textContent = `Updated ${new Date().toLocaleTimeString()}`;
  } catch (error) {
    setError(errorBox, describeError(error));
  }
}

document.getElementById("models-reset").addEventListener("click", async () => {
  if (!window.confirm("Clear every model's cooldown, breaker and counters?")) return;
  try {
    renderModels(await api("POST", "/api/admin/models/reset"));
  } catch (error) {
    notifyError(error);
  }
});

const userForm = document.getElementById("user-form");
userForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const userError = document.getElementById("user-error");
  try {
    await api("POST", "/api/admin/users", Object.fromEntries(new FormData(userForm).entries()));
    userForm.reset();
    setError(userError, null);
    refresh();
  } catch (error) {
    setError(userError, describeError(error));
  }
});

// One listener for every row's Disable/Enable button (rows are rebuilt on each refresh).
body("users-table").addEventListener("click", async (event) => {
  const button = event.target.closest("button[data-action]");
  if (!button) return;
  const { userId, action } = button.dataset;
  const usersError = document.getElementById("users-error");
  if (action === "disable" && !window.confirm("Disable this account? Its sessions and API tokens end now, and it cannot sign in until enabled.")) return;
  try {
    button.disabled = true;
    await api("POST", `/api/admin/users/${userId}/${action}`);
    setError(usersError, null);
    refresh();
  } catch (error) {
    setError(usersError, describeError(error));
  } finally {
    button.disabled = false;
  }
});

const resetForm = document.getElementById("reset-form");
resetForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const resetError = document.getElementById("reset-error");
  const done = document.getElementById("reset-done");
  const { user_id: userId, new_password: password } = Object.fromEntries(new FormData(resetForm).entries());
  if (!userId) return;
  try {
    const { user } = await api("POST", `/api/admin/users/${userId}/password`, { new_password: password });
    resetForm.reset();
    setError(resetError, null);
    done.textContent = `Password reset for ${user.email}; their sessions and tokens have ended.`;
    done.hidden = false;
  } catch (error) {
    done.hidden = true;
    setError(resetError, describeError(error));
  }
});

api("GET", "/api/auth/me").then(({ user }) => { me = user; }).catch(() => {}).finally(refresh);
setInterval(() => { if (!document.hidden) refresh(); }, 5000);
