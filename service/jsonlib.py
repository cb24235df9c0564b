"""JSON encode/decode behind the JSON_LIB toggle (stdlib ``json`` or ``orjson``).

Both codecs take and return bytes and reject the same inputs (non-UTF-8 bytes,
lone surrogates), so validation does not depend on the toggle.
"""

from __future__ import annotations

import json
from typing import Any, Callable

from engine.config import ConfigError


class JsonCodec:
    """A named pair of ``dumps(obj) -> bytes`` and ``loads(bytes) -> obj``."""

    def __init__(self, name: str, dumps: Callable[[Any], bytes],
                 loads: Callable[[bytes], Any]) -> None:
        self.name = name
        self.dumps = dumps
        self.loads = loads

    def __repr__(self) -> str:
        return f"JsonCodec({self.name!r})"


def _stdlib_dumps(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False).encode("utf-8")


def _stdlib_loads(data: bytes) -> Any:
    # Decode explicitly: json.loads(bytes) would guess UTF-16/32 from the byte pattern.
    text = data.decode("utf-8")
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


def get_codec(name: str) -> JsonCodec:
    """The codec for JSON_LIB; orjson missing (e.g. on PyPy) is a config error."""
    if name == "stdlib":
        return JsonCodec("stdlib", _stdlib_dumps, _stdlib_loads)
    if name == "orjson":
        try:
            import orjson
        except ImportError:
            raise ConfigError("JSON_LIB='orjson' is not valid here: orjson is not installed "
                              "for this interpreter; allowed values: stdlib") from None

        def loads(data: bytes) -> Any:
            try:
                return orjson.loads(data)
            except orjson.JSONDecodeError as exc:
                raise ValueError(str(exc)) from None

        return JsonCodec("orjson", orjson.dumps, loads)
    raise ConfigError(f"JSON_LIB={name!r} is not valid; allowed values: stdlib, orjson")
