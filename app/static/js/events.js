// Live document updates over server-sent events (same origin, so the session cookie goes along).
// EventSource reconnects by itself; each reconnect starts with a fresh snapshot from the server, which
// is authoritative. `restart()` opens a new stream on purpose, to get a fresh snapshot now.
const TYPES = ["snapshot", "analysis", "document", "summary", "export", "item", "sections"];

export function subscribe(documentId, handlers, onState) {
  let source = null;
  function open() {
    source = new EventSource(`/api/documents/${documentId}/events`, { withCredentials: true });
    const current = source;
    for (const type of TYPES) {
      current.addEventListener(type, (event) => {
        if (current !== source) return; // a replaced stream's late event
        let data;
        try { data = JSON.parse(event.data); } catch { return; }
        if (handlers.any) handlers.any(type);
        if (handlers[type]) handlers[type](data);
      });
    }
    // The server ends a stream with `reconnect`: over the per-user cap the oldest view stops for good
    // (reconnecting would only close another tab's); otherwise EventSource comes back by itself.
    current.addEventListener("reconnect", (event) => {
      if (current !== source) return;
      let data = {};
      try { data = JSON.parse(event.data); } catch { /* keep the default */ }
      if (data.reason === "too_many_streams") {
        current.close();
        onState("closed", data.message);
      }
    });
    current.addEventListener("open", () => onState("live"));
    current.addEventListener("error", () => {
      if (current === source) onState(current.readyState === EventSource.CLOSED ? "closed" : "reconnecting");
    });
  }
  open();
  return {
    restart() {
      source.close();
      open();
    },
  };
}
