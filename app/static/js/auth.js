// Sign-in, first-run setup and sign-out.
import { api, describeError } from "./api.js";

function bindForm(form) {
  const errorBox = document.getElementById("form-error");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    errorBox.hidden = true;
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    const payload = Object.fromEntries(new FormData(form).entries());
    if (form.dataset.next) payload.next = form.dataset.next;
    try {
      const reply = await api("POST", form.dataset.endpoint, payload);
      // The server checks `next` and only ever answers a path on this site (never another host).
      window.location.assign(reply.redirect || "/");
    } catch (error) {
      errorBox.textContent = error.code === "unauthenticated" || error.code === "invalid_credentials"
        ? error.message : describeError(error);
      errorBox.hidden = false;
      button.disabled = false;
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
    try {
      await api("POST", "/api/auth/logout");
    } finally {
      window.location.assign("/login");
    }
  });
}
