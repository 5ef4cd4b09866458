// JSON calls to the AI-Prism API with the session cookie and the CSRF token, and errors a reviewer
// can read. Every module talks to the server through here.
let csrfToken = null;

async function fetchCsrf() {
  const response = await fetch("/api/auth/csrf", { credentials: "same-origin" });
  csrfToken = (await response.json()).csrf_token;
  return csrfToken;
}

export async function csrf() {
  return csrfToken || fetchCsrf();
}

export class ApiError extends Error {
  constructor(status, code, message, details = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

// What a person should read for an error: the server's own message is already written for people,
// but a few cases need words about what to do next.
export function describeError(error) {
  if (!(error instanceof ApiError)) {
    return "AI-Prism could not be reached. Check your connection and try again.";
  }
  switch (error.code) {
    case "unauthenticated":
      return "Your session has ended. Sign in again to continue.";
    case "csrf_failed":
      return "This page has expired. Reload it and try again.";
    case "version_conflict":
      return "Someone else changed this item first. Both versions are shown: keep theirs, or apply yours over it.";
    case "request_in_flight":
      return "The same request is still being handled. Wait a moment.";
    case "forbidden":
      return "Your account is not allowed to do this.";
    case "internal_error":
      return "Something went wrong on the server. It has been logged; try again in a moment.";
    default:
      break;
  }
  if (error.status === 0) return "AI-Prism could not be reached. Check your connection and try again.";
  return error.message || `The request failed (error ${error.status}).`;
}

async function errorFrom(response) {
  const data = await response.json().catch(() => ({}));
  const error = data.error || {};
  let message = error.message;
  if (!message) message = response.status >= 500 ? "The server is having trouble. Try again in a moment." : `The request failed (error ${response.status}).`;
  const retry = response.headers.get("Retry-After");
  return new ApiError(response.status, error.code || "error", message, { ...error, retryAfter: retry ? Number(retry) : null });
}

// A fresh Idempotency-Key for one click: a repeat of that click's request is answered once.
export function idempotencyKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

export async function api(method, path, body, { retryCsrf = true, headers: extra = {} } = {}) {
  const headers = { Accept: "application/json", ...extra };
  if (method !== "GET") headers["X-CSRFToken"] = await csrf();
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(path, {
      method, headers, credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (networkError) {
    throw new ApiError(0, "network", networkError.message);
  }
  if (!response.ok) {
    const error = await errorFrom(response);
    if (error.code === "csrf_failed" && retryCsrf && method !== "GET") {
      csrfToken = null; // the session was renewed elsewhere: fetch a fresh token once
      return api(method, path, body, { retryCsrf: false, headers: extra });
    }
    throw error;
  }
  const data = await response.json().catch(() => ({}));
  if (data.csrf_token) csrfToken = data.csrf_token;
  return data;
}

// POST a streamed request (chat): returns the Response for the caller to read, or throws ApiError.
export async function postStream(path, body) {
  let response;
  try {
    response = await fetch(path, {
      method: "POST", credentials: "same-origin",
      headers: { Accept: "text/event-stream", "Content-Type": "application/json", "X-CSRFToken": await csrf() },
      body: JSON.stringify(body),
    });
  } catch (networkError) {
    throw new ApiError(0, "network", networkError.message);
  }
  if (!response.ok) throw await errorFrom(response);
  return response;
}

// Multipart upload with progress (fetch cannot report upload progress; XMLHttpRequest can).
export function upload(path, formData, onProgress) {
  return csrf().then((token) => new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", path);
    xhr.withCredentials = true;
    xhr.setRequestHeader("X-CSRFToken", token);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    });
    xhr.addEventListener("load", () => {
      let data = {};
      try { data = JSON.parse(xhr.responseText); } catch { /* not JSON: described below */ }
      if (xhr.status >= 200 && xhr.status < 300) return resolve(data);
      const error = data.error || {};
      const fallback = xhr.status === 413 ? "The file is larger than the server accepts." : `The upload failed (error ${xhr.status}).`;
      reject(new ApiError(xhr.status, error.code || "error", error.message || fallback));
    });
    xhr.addEventListener("error", () => reject(new ApiError(0, "network", "network error")));
    xhr.addEventListener("abort", () => reject(new ApiError(0, "aborted", "The upload was cancelled.")));
    xhr.send(formData);
  }));
}
