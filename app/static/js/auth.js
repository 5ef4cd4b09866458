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
    try {
      await api("POST", form.dataset.endpoint, payload);
      const next = form.dataset.next || "/";
      window.location.assign(next.startsWith("/") && !next.startsWith("//") ? next : "/");
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
