"""Bounding and validating input before it reaches the engine.

The engine accepts any ``str``; the service is what stops malformed, oversized
or hostile input with a 4xx and a message (never a 500 or a hang).
"""

from __future__ import annotations

import re
from typing import Any, Dict, Optional
from urllib.parse import unquote_to_bytes

from aiohttp import web

from engine.types import ORDER_ID_PATTERN
from service.jsonlib import JsonCodec
from service.middlewares import ApiError

SESSION_ID_RE = re.compile(r"[A-Za-z0-9._:@-]{1,128}")
ORDER_ID_RE = re.compile(ORDER_ID_PATTERN, re.IGNORECASE)
# C0 and C1 control characters except tab, newline and carriage return.
CONTROL_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
MAX_ARTICLE_ID = 10 ** 9
MAX_FAQ_K = 20


async def read_json_object(request: web.Request, codec: JsonCodec) -> Dict[str, Any]:
    """The request body as a JSON object, or ApiError(400) saying what is wrong with it."""
    body = await request.read()  # bounded by client_max_size: 413 past MAX_BODY_BYTES
    if not body.strip():
        raise ApiError(400, "request body is empty; expected a JSON object")
    try:
        data = codec.loads(body)
    except UnicodeDecodeError:
        raise ApiError(400, "request body is not valid UTF-8") from None
    except ValueError as exc:
        raise ApiError(400, f"request body is not valid JSON: {_short(str(exc))}") from None
    if not isinstance(data, dict):
        raise ApiError(400, f"expected a JSON object, got {_json_type(data)}")
    return data


def check_query_utf8(request: web.Request) -> None:
    """aiohttp decodes bad percent-escapes to U+FFFD silently; refuse them instead."""
    raw = request.rel_url.raw_query_string
    if "%" in raw:
        try:
            unquote_to_bytes(raw.replace("+", " ")).decode("utf-8")
        except UnicodeDecodeError:
            raise ApiError(400, "query string is not valid UTF-8") from None


def session_id(value: Any, field: str = "session_id") -> str:
    """A session id: 1-128 characters of letters, digits and ``._:@-``."""
    if value is None:
        raise ApiError(400, f"{field} is required")
    if not isinstance(value, str):
        raise ApiError(400, f"{field} must be a string, got {_json_type(value)}")
    if not SESSION_ID_RE.fullmatch(value):
        raise ApiError(400, f"{field} must be 1-128 characters of letters, digits and ._:@-")
    return value


def text(value: Any, max_chars: int, field: str = "message") -> str:
    """A user message or query: a non-blank string, bounded, no control characters."""
    if value is None:
        raise ApiError(400, f"{field} is required")
    if not isinstance(value, str):
        raise ApiError(400, f"{field} must be a string, got {_json_type(value)}")
    if len(value) > max_chars:
        raise ApiError(400, f"{field} is {len(value)} characters; the limit is {max_chars} "
                       "(MAX_MESSAGE_CHARS)")
    if not value.strip():
        raise ApiError(400, f"{field} is empty")
    bad = CONTROL_RE.search(value)
    if bad is not None:
        raise ApiError(400, f"{field} contains control character U+{ord(bad.group()):04X} "
                       f"at position {bad.start()}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ApiError(400, f"{field} contains an unpaired surrogate") from None
    return value


def order_id(raw: str) -> str:
    """Canonical order id (``B204518``) or ApiError(400) for a malformed one."""
    if not ORDER_ID_RE.fullmatch(raw):
        raise ApiError(400, f"order id {_short(raw, 40)!r} is malformed; "
                       "order ids look like A123456 or 100234567891")
    return raw.upper()


def article_id(raw: str) -> int:
    if not raw.isdigit() or not raw.isascii() or not 1 <= int(raw) <= MAX_ARTICLE_ID:
        raise ApiError(400, f"article id {_short(raw, 40)!r} is not valid; expected an integer "
                       f"1..{MAX_ARTICLE_ID}")
    return int(raw)


def int_param(raw: Optional[str], name: str, default: int, low: int, high: int) -> int:
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, f"{name} must be an integer {low}..{high}") from None
    if not low <= value <= high:
        raise ApiError(400, f"{name} must be an integer {low}..{high}")
    return value


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _short(s: str, limit: int = 120) -> str:
    return s if len(s) <= limit else s[:limit] + "..."
