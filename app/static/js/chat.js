// The risk-advice chat: replies stream in token by token (fetch + ReadableStream reading SSE frames).
import { api, describeError, postStream } from "./api.js";
import { el, setError } from "./dom.js";
import { safeFragment } from "./sanitize.js";

// Yields {event, data} for each server-sent-event frame in a fetch Response body.
export async function* frames(response) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true }).replace(/\r\n/g, "\n");
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const frame = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      let event = "message";
      const data = [];
      for (const line of frame.split("\n")) {
        if (line.startsWith("event:")) event = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
      }
      if (data.length) yield { event, data: JSON.parse(data.join("\n")) };
    }
  }
}

export function initChat({ documentId, currentSectionId }) {
  const log = document.getElementById("chat-log");
  const form = document.getElementById("chat-form");
  const input = document.getElementById("chat-input");
  const sectionOnly = document.getElementById("chat-section-only");
  const errorBox = document.getElementById("chat-error");
  const send = document.getElementById("chat-send");
  const exportLink = document.getElementById("chat-export");
  let conversationId = null;

  // The conversation on screen, as a text file (GET …/conversations/{id}?format=text).
  function setConversation(id) {
    conversationId = id;
    exportLink.hidden = !id;
    if (id) exportLink.href = `/api/documents/${documentId}/conversations/${encodeURIComponent(id)}?format=text`;
  }

  function bubble(role, text) {
    const body = el("div", { class: "chat-body" }, text);
    const node = el("div", { class: `chat-msg ${role}` },
      el("div", { class: "chat-role small muted" }, role === "user" ? "You" : "AI-Prism"), body);
    log.append(node);
    log.scrollTop = log.scrollHeight;
    return { node, body };
  }

  async function ask(message) {
    setError(errorBox, null);
    bubble("user", message);
    const reply = bubble("assistant", "");
    reply.node.setAttribute("aria-busy", "true");
    send.disabled = true;
    const body = { message };
    if (conversationId) body.conversation_id = conversationId;
    if (sectionOnly.checked && currentSectionId()) body.section_id = currentSectionId();
    try {
      const response = await postStream(`/api/documents/${documentId}/chat`, body);
      let text = "";
      for await (const { event, data } of frames(response)) {
        if (event === "start") setConversation(data.conversation_id);
        else if (event === "token") {
          text += data.text;
          reply.body.textContent = text; // streamed as plain text; formatted once complete
          log.scrollTop = log.scrollHeight;
        } else if (event === "done") {
          reply.body.replaceChildren(safeFragment(data.html || ""));
          reply.body.classList.add("formatted");
          if (data.model) reply.node.append(el("div", { class: "small muted" }, `model ${data.model}`));
        } else if (event === "error") {
          reply.node.append(el("p", { class: "error" }, data.message || "The reply stopped before it was finished."));
        }
      }
    } catch (error) {
      reply.node.remove();
      setError(errorBox, describeError(error));
    } finally {
      reply.node.removeAttribute("aria-busy");
      send.disabled = false;
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const message = input.value.trim();
    if (!message) {
      setError(errorBox, "Write a question first.");
      return;
    }
    input.value = "";
    ask(message);
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  // The latest conversation about this document is shown again when the page opens.
  async function restore() {
    try {
      const { conversations } = await api("GET", `/api/documents/${documentId}/conversations`);
      if (!conversations.length || conversationId) return;
      const { messages } = await api("GET", `/api/documents/${documentId}/conversations/${encodeURIComponent(conversations[0].id)}`);
      if (conversationId || log.childElementCount) return; // the reviewer started typing meanwhile
      setConversation(conversations[0].id);
      for (const turn of messages) {
        const shown = bubble(turn.role === "user" ? "user" : "assistant", turn.role === "user" ? turn.content : "");
        if (turn.role !== "user") {
          shown.body.replaceChildren(safeFragment(turn.html || ""));
          shown.body.classList.add("formatted");
          if (turn.status === "partial") shown.node.append(el("p", { class: "small muted" }, "This reply was cut short."));
          if (turn.status === "failed") shown.body.textContent = "The model could not answer this message.";
        }
      }
    } catch (error) {
      setError(errorBox, `Earlier messages could not be loaded: ${describeError(error)}`);
    }
  }
  restore();

  document.getElementById("chat-new").addEventListener("click", () => {
    setConversation(null);
    log.replaceChildren();
    input.focus();
  });
  return { focus: () => input.focus() };
}
