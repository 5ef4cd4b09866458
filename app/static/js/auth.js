// Sign-in, first-run setup and sign-out.
import { api } from "./api.js";

function bindForm(form) {
  const errorBox = document.getElementById("form-error");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    errorBox.hidden = true;
    const payload = Object.fromEntries(new FormData(form).entries());
    const next = new URLSearchParams(window.location.search).get("next");
    if (next) payload.next = next;
    try {
      const reply = await api("POST", form.dataset.endpoint, payload);
      // The server only ever answers a path on this site (never another host).
      window.location.assign(reply.redirect || "/");
    } catch (error) {
      errorBox.textContent = error.message;
      errorBox.hidden = false;
    }
  });
}

for (const id of ["login-form", "setup-form"]) {
  const form = document.getElementById(id);
  if (form) bindForm(form);
}

const logout = document.getElementById("logout");
if (logout) {
  logout.addEventListener("click", async () => {
    await api("POST", "/api/auth/logout");
    window.location.assign("/login");
  });
}
