// JSON calls to the AI-Prism API with the session cookie and the CSRF token.
let csrfToken = null;

async function fetchCsrf() {
  const response = await fetch("/api/auth/csrf", { credentials: "same-origin" });
  csrfToken = (await response.json()).csrf_token;
  return csrfToken;
}

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export async function api(method, path, body) {
  const headers = { Accept: "application/json" };
  if (method !== "GET") {
    headers["X-CSRFToken"] = csrfToken || (await fetchCsrf());
  }
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    method,
    headers,
    credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = data.error || {};
    throw new ApiError(response.status, error.code || "error", error.message || `Request failed (${response.status}).`);
  }
  if (data.csrf_token) csrfToken = data.csrf_token;
  return data;
}
