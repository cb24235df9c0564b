"""The OpenAPI 3 document of the service, served at /openapi.json.

Hand-written (no generator dependency) and checked by a schemathesis test that
sends property-based requests to a real process and validates the answers.
"""

from __future__ import annotations

from typing import Any, Dict

SESSION_ID_PATTERN = r"^[A-Za-z0-9._:@-]{1,128}$"


def _ref(name: str) -> Dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: Dict[str, Any], description: str) -> Dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*statuses: int) -> Dict[str, Any]:
    texts = {400: "invalid input", 404: "not found", 413: "body over MAX_BODY_BYTES",
             429: "rate limited (RATE_LIMIT_RPS); see Retry-After",
             503: "the health check itself failed"}
    return {str(s): _json(_ref("Error"), texts[s]) for s in statuses}


def _string_map() -> Dict[str, Any]:
    return {"type": "object", "additionalProperties": True}


def build_openapi() -> Dict[str, Any]:
    """The document; limits match the defaults (MAX_MESSAGE_CHARS etc. may lower them)."""
    entity = {"type": "object", "required": ["type", "value", "text", "start", "end"],
              "properties": {"type": {"type": "string"}, "value": {"type": "string"},
                             "text": {"type": "string"}, "start": {"type": "integer"},
                             "end": {"type": "integer"}}}
    reply = {"type": "object",
             "required": ["session_id", "intent", "confidence", "entities", "answer",
                          "sources", "awaiting", "timings"],
             "properties": {
                 "session_id": {"type": "string"}, "intent": {"type": "string"},
                 "confidence": {"type": "number"},
                 "entities": {"type": "array", "items": _ref("Entity")},
                 "answer": {"type": "string"},
                 "sources": {"type": "array", "items": {"type": "string"}},
                 "awaiting": {"type": "string", "nullable": True},
                 "timings": {"type": "object", "additionalProperties": {"type": "number"}}}}
    message = {"type": "string", "minLength": 1, "maxLength": 2000,
               "description": "non-blank, no control characters except tab/newline"}
    session_id = {"type": "string", "pattern": SESSION_ID_PATTERN}
    chat_request = {"type": "object", "required": ["session_id", "message"],
                    "properties": {"session_id": session_id, "message": message}}
    batch_item = {"oneOf": [message, {
        "type": "object", "required": ["message"],
        "properties": {"session_id": session_id, "message": message}}]}
    batch_request = {"type": "object", "required": ["messages"],
                     "properties": {"session_id": session_id,
                                    "messages": {"type": "array", "minItems": 1,
                                                 "maxItems": 50, "items": batch_item}}}
    batch_reply = {"type": "object", "required": ["count", "replies"],
                   "properties": {"count": {"type": "integer"},
                                  "replies": {"type": "array", "items": _ref("Reply")}}}
    order = {"type": "object",
             "required": ["order_id", "customer_id", "email", "status", "total_cents",
                          "currency", "created_at", "items", "tracking_id", "carrier",
                          "shipping_address"],
             "properties": {
                 "order_id": {"type": "string"}, "customer_id": {"type": "string"},
                 "email": {"type": "string"}, "status": {"type": "string"},
                 "total_cents": {"type": "integer"}, "currency": {"type": "string"},
                 "created_at": {"type": "string"},
                 "items": {"type": "array", "items": {"type": "array"}},
                 "tracking_id": {"type": "string", "nullable": True},
                 "carrier": {"type": "string", "nullable": True},
                 "shipping_address": {"type": "string"}}}
    hit = {"type": "object", "required": ["article_id", "title", "score"],
           "properties": {"article_id": {"type": "integer"}, "title": {"type": "string"},
                          "score": {"type": "number"}}}
    article = {"type": "object", "required": ["article_id", "title", "body", "category",
                                              "tags"],
               "properties": {"article_id": {"type": "integer"}, "title": {"type": "string"},
                              "body": {"type": "string"}, "category": {"type": "string"},
                              "tags": {"type": "array", "items": {"type": "string"}}}}
    error = {"type": "object", "required": ["error", "detail"],
             "properties": {"error": {"type": "string"}, "detail": {"type": "string"}}}
    health = {"type": "object", "required": ["status", "pid", "uptime_s"],
              "properties": {"status": {"type": "string", "enum": ["ok", "degraded", "error"]},
                             "pid": {"type": "integer"}, "uptime_s": {"type": "number"},
                             "engine": _string_map(), "detail": {"type": "string"}}}
    config = {"type": "object",
              "required": ["engine", "service", "interpreter", "pid", "event_loop_class",
                           "started_at"],
              "properties": {"engine": _string_map(), "service": _string_map(),
                             "interpreter": _string_map(), "pid": {"type": "integer"},
                             "event_loop_class": {"type": "string"},
                             "started_at": {"type": "number"}}}
    etag_headers = {"ETag": {"schema": {"type": "string"}},
                    "Cache-Control": {"schema": {"type": "string"}}}

    def body(schema_name: str) -> Dict[str, Any]:
        return {"required": True, "content": {"application/json": {"schema": _ref(schema_name)}}}

    paths: Dict[str, Any] = {
        "/api/chat": {"post": {
            "summary": "One message to the bot", "operationId": "chat",
            "requestBody": body("ChatRequest"),
            "responses": dict(_errors(400, 413, 429), **{"200": _json(_ref("Reply"), "the reply")}),
        }},
        "/api/chat/batch": {"post": {
            "summary": "Several messages in one request (404 unless BATCHING=on)",
            "operationId": "chatBatch", "requestBody": body("BatchRequest"),
            "responses": dict(_errors(400, 404, 413, 429),
                              **{"200": _json(_ref("BatchReply"), "replies in input order")}),
        }},
        "/api/orders/{order_id}": {"get": {
            "summary": "Order look-up", "operationId": "getOrder",
            "parameters": [{"name": "order_id", "in": "path", "required": True,
                            "schema": {"type": "string", "pattern": "^[A-Ha-h][0-9]{6}$"}}],
            "responses": dict(_errors(400, 404, 429), **{"200": _json(_ref("Order"), "the order")}),
        }},
        "/api/faq/search": {"get": {
            "summary": "FAQ retrieval", "operationId": "searchFaq",
            "parameters": [
                {"name": "q", "in": "query", "required": True, "schema": message},
                {"name": "k", "in": "query", "required": False,
                 "schema": {"type": "integer", "minimum": 1, "maximum": 20, "default": 3}}],
            "responses": dict(_errors(400, 404, 429), **{"200": _json({
                "type": "object", "required": ["query", "hits"],
                "properties": {"query": {"type": "string"},
                               "hits": {"type": "array", "items": _ref("FaqHit")}}},
                "ranked hits")}),
        }},
        "/api/faq/{article_id}": {"get": {
            "summary": "One FAQ article (cacheable: ETag, Cache-Control, 304)",
            "operationId": "getFaqArticle",
            "parameters": [
                {"name": "article_id", "in": "path", "required": True,
                 "schema": {"type": "integer", "minimum": 1, "maximum": 1000000000}},
                {"name": "If-None-Match", "in": "header", "required": False,
                 "schema": {"type": "string"}}],
            "responses": dict(_errors(400, 404, 429), **{
                "200": dict(_json(_ref("Article"), "the article"), headers=etag_headers),
                "304": {"description": "not modified (If-None-Match matched)",
                        "headers": etag_headers}}),
        }},
        "/healthz": {"get": {
            "summary": "Readiness and dependency state (200 even when degraded)",
            "operationId": "healthz",
            "responses": dict(_errors(503), **{"200": _json(_ref("Health"), "serving")}),
        }},
        "/metrics": {"get": {
            "summary": "Prometheus metrics", "operationId": "metrics",
            "responses": {"200": {"description": "text format 0.0.4",
                                  "content": {"text/plain": {"schema": {"type": "string"}}}}},
        }},
        "/api/config": {"get": {
            "summary": "Effective toggles, interpreter and pid", "operationId": "config",
            "responses": {"200": _json(_ref("Config"), "the effective configuration")},
        }},
        "/openapi.json": {"get": {
            "summary": "This document", "operationId": "openapi",
            "responses": {"200": _json({"type": "object"}, "OpenAPI 3 document")},
        }},
    }
    return {
        "openapi": "3.0.3",
        "info": {"title": "perflab support chatbot", "version": "1.0.0",
                 "description": "Reference service of the perflab performance lab. Every "
                                "error is JSON {error, detail}."},
        "paths": paths,
        "components": {"schemas": {
            "Entity": entity, "Reply": reply, "ChatRequest": chat_request,
            "BatchRequest": batch_request, "BatchReply": batch_reply, "Order": order,
            "FaqHit": hit, "Article": article, "Error": error, "Health": health,
            "Config": config}},
    }
