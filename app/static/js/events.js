// Live document updates over server-sent events (same origin, so the session cookie goes along).
// EventSource reconnects by itself; each reconnect starts with a fresh snapshot from the server.
export function subscribe(documentId, handlers, onState) {
  const source = new EventSource(`/api/documents/${documentId}/events`, { withCredentials: true });
  for (const type of ["snapshot", "analysis", "document", "summary", "export"]) {
    source.addEventListener(type, (event) => {
      let data;
      try { data = JSON.parse(event.data); } catch { return; }
      if (handlers[type]) handlers[type](data);
    });
  }
  // The server ends a stream with `reconnect`: over the per-user cap the oldest view stops for good
  // (reconnecting would only close another tab's); otherwise EventSource comes back by itself.
  source.addEventListener("reconnect", (event) => {
    let data = {};
    try { data = JSON.parse(event.data); } catch { /* keep the default */ }
    if (data.reason === "too_many_streams") {
      source.close();
      onState("closed", data.message);
    }
  });
  source.addEventListener("open", () => onState("live"));
  source.addEventListener("error", () => onState(source.readyState === EventSource.CLOSED ? "closed" : "reconnecting"));
  return source;
}
