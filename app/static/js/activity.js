// The admin activity page: every document's events, filtered by user, action and dates, with downloads.
import { api, describeError } from "./api.js";
import { clear, el, setError } from "./dom.js";
import { eventRow } from "./timeline.js";

const form = document.getElementById("activity-filters");
const body = document.querySelector("#activity-table tbody");
const count = document.getElementById("activity-count");
const errorBox = document.getElementById("activity-error");

function params() {
  const search = new URLSearchParams();
  for (const [name, value] of new FormData(form).entries()) if (value) search.set(name, value);
  return search;
}

async function load() {
  const search = params();
  const download = new URLSearchParams(search);
  download.set("download", "1");
  document.getElementById("activity-csv").href = `/api/admin/activity?${download}`;
  download.set("format", "json");
  document.getElementById("activity-json").href = `/api/admin/activity?${download}`;
  try {
    const { events } = await api("GET", `/api/admin/activity?${search}`);
    setError(errorBox, null);
    const newest = events.slice().reverse();
    clear(body).append(...newest.slice(0, 1000).map((e) => eventRow(e, { withDocument: true })));
    count.textContent = `${events.length} event${events.length === 1 ? "" : "s"}` + (events.length > 1000 ? ", the newest 1000 shown (download for all)" : "");
  } catch (error) {
    setError(errorBox, describeError(error));
  }
}

async function loadUsers() {
  try {
    const { users } = await api("GET", "/api/admin/users");
    document.getElementById("filter-user").append(...users.map((u) => el("option", { value: u.id }, u.display_name ? `${u.display_name} (${u.email})` : u.email)));
  } catch (error) {
    setError(errorBox, describeError(error));
  }
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  load();
});
loadUsers();
load();
