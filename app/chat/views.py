"""POST /api/documents/{id}/chat (server-sent events, or JSON with Accept: application/json) and the
conversation history."""
from __future__ import annotations

import json
import math
import time

from flask import Blueprint, Response, current_app, jsonify, request, stream_with_context
from flask_login import current_user, login_required
from sqlalchemy import func, select

from app.auth.access import owned_or_404
from app.errors import APIError
from app.events import sse
from app.extensions import db
from app.llm.errors import CapacityExhausted, ModelCallError, StreamInterrupted
from app.llm.types import ModelResponse, Sampling
from app.models import ChatMessage, Document, Section
from app.security import rate_limit

from . import service
from .render import markdown_to_html

bp = Blueprint("chat", __name__, url_prefix="/api/documents")


def _busy(exc: CapacityExhausted):
    wait = max(1, math.ceil(exc.retry_after))
    return APIError(503, "models_busy", f"Every model is busy right now. Try again in {wait} seconds.", headers={"Retry-After": str(wait)})


@bp.post("/<int:document_id>/chat")
@login_required
def chat(document_id: int):
    document = owned_or_404(Document, document_id)
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise APIError(400, "invalid_json", "Send a JSON object with a message.")
    message = body.get("message")
    if not isinstance(message, str) or not message.strip():
        raise APIError(400, "missing_message", "Write a message.")
    if len(message) > service.MAX_MESSAGE_CHARS:
        raise APIError(413, "message_too_long", f"Messages can have at most {service.MAX_MESSAGE_CHARS} characters.")
    section = None
    if body.get("section_id") is not None:
        section = db.session.get(Section, body["section_id"]) if isinstance(body["section_id"], int) else None
        if section is None or section.document_id != document.id:
            raise APIError(404, "not_found", "No such section in this document.")
    conversation_id = body.get("conversation_id")
    if conversation_id is not None:
        owned = db.session.scalar(select(func.count()).select_from(ChatMessage).where(
            ChatMessage.conversation_id == str(conversation_id), ChatMessage.document_id == document.id,
            ChatMessage.user_id == current_user.id))
        if not owned:
            raise APIError(404, "not_found", "No such conversation.")
    rate_limit("chat", "CHAT_RATE_LIMIT", "chat messages")
    question = service.new_question(document.id, current_user.id, section.id if section else None,
                                    conversation_id, message.strip())
    model_request = service.build_request(db.session, document, section, conversation_id, message.strip(),
                                          Sampling.from_config(current_app.config))
    chain = current_app.extensions["model_chain"]
    context = {"purpose": "chat", "document_id": document.id, "user_id": current_user.id}
    started = time.monotonic()

    def failed(exc, error: APIError):
        service.store_turns(db.session, question, "", "failed")
        raise error from exc

    if request.accept_mimetypes.best == "application/json":
        try:
            response = chain.complete(model_request, context=context, max_wait_s=10)
        except CapacityExhausted as exc:
            failed(exc, _busy(exc))
        except ModelCallError as exc:
            failed(exc, APIError(502, "model_error", "The model could not answer this message."))
        reply = service.store_turns(db.session, question, response.text, "complete", response, int((time.monotonic() - started) * 1000))
        return jsonify({"conversation_id": question.conversation_id, "message_id": reply.id, "reply": response.text,
                        "html": markdown_to_html(response.text), "model": response.model_id})

    db.session.remove()  # no database connection held while waiting for the model
    stream = chain.stream(model_request, context=context, max_wait_s=10)
    try:
        first = next(stream)  # capacity is known before the response starts: 503 is still possible
    except CapacityExhausted as exc:
        failed(exc, _busy(exc))
    except (ModelCallError, StopIteration) as exc:
        failed(exc, APIError(502, "model_error", "The model could not answer this message."))

    def events():
        parts: list[str] = []
        final = None
        yield sse("start", {"conversation_id": question.conversation_id})
        try:
            for item in _chain(first, stream):
                if isinstance(item, ModelResponse):
                    final = item
                    break
                parts.append(item)
                yield sse("token", {"text": item})
        except (StreamInterrupted, ModelCallError, CapacityExhausted):
            stored = service.store_turns(db.session, question, "".join(parts), "partial",
                                         latency_ms=int((time.monotonic() - started) * 1000))
            yield sse("error", {"code": "stream_interrupted", "message": "The model stopped before finishing; the partial reply was kept.",
                                "partial": True, "message_id": stored.id})
            return
        text = "".join(parts)
        stored = service.store_turns(db.session, question, text, "complete", final, int((time.monotonic() - started) * 1000))
        yield sse("done", {"message_id": stored.id, "model": final.model_id if final else None, "html": markdown_to_html(text)})

    response = Response(stream_with_context(events()), mimetype="text/event-stream")
    response.headers["Cache-Control"] = "no-cache"
    response.headers["X-Accel-Buffering"] = "no"
    return response


def _chain(first, rest):
    yield first
    yield from rest


@bp.get("/<int:document_id>/conversations")
@login_required
def conversations(document_id: int):
    document = owned_or_404(Document, document_id)
    rows = db.session.execute(
        select(ChatMessage.conversation_id, func.min(ChatMessage.created_at), func.max(ChatMessage.created_at), func.count())
        .where(ChatMessage.document_id == document.id, ChatMessage.user_id == current_user.id)
        .group_by(ChatMessage.conversation_id).order_by(func.max(ChatMessage.created_at).desc())).all()
    return jsonify({"conversations": [{"id": cid, "started_at": first.isoformat() if hasattr(first, "isoformat") else first,
                                       "last_at": last.isoformat() if hasattr(last, "isoformat") else last, "messages": n}
                                      for cid, first, last, n in rows]})


@bp.get("/<int:document_id>/conversations/<conversation_id>")
@login_required
def conversation(document_id: int, conversation_id: str):
    document = owned_or_404(Document, document_id)
    turns = db.session.scalars(select(ChatMessage).where(
        ChatMessage.document_id == document.id, ChatMessage.user_id == current_user.id,
        ChatMessage.conversation_id == conversation_id).order_by(ChatMessage.id)).all()
    if not turns:
        raise APIError(404, "not_found", "No such conversation.")
    data = [{"id": t.id, "role": t.role, "content": t.content, "status": t.status, "model": t.model_id,
             "input_tokens": t.input_tokens, "output_tokens": t.output_tokens, "latency_ms": t.latency_ms,
             "created_at": t.created_at.isoformat(), "html": markdown_to_html(t.content) if t.role == "assistant" else None}
            for t in turns]
    if request.args.get("format") == "text":
        text = "\n\n".join(f"[{t['created_at']}] {t['role']}{' (' + t['status'] + ')' if t['status'] != 'complete' else ''}:\n{t['content']}" for t in data)
        return Response(text, mimetype="text/plain", headers={"Content-Disposition": f'attachment; filename="conversation-{conversation_id[:8]}.txt"'})
    if request.args.get("format") == "json":
        return Response(json.dumps({"document": document.title, "conversation_id": conversation_id, "messages": data}, indent=2),
                        mimetype="application/json", headers={"Content-Disposition": f'attachment; filename="conversation-{conversation_id[:8]}.json"'})
    return jsonify({"conversation_id": conversation_id, "messages": data})
