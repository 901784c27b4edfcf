"""Query strings the way the Node `qs` library writes them.

`a[b]=1` is an object, `a[0]=x&a[1]=y` (or `a[]=x&a[]=y`, or a repeated `a`) a list, every value a
string. `@blocklet/payment-js` sends `order[0][0]=created_at&order[0][1]=DESC`; the Python port
`qs-codec` (1.6) decodes that as `[['created_at'], ['DESC']]`, so this small decoder does the subset the
client uses, with qs's own limits: nesting depth 5, list indices up to 20 (larger ones make an object).

Beyond those, a query string holds at most `MAX_PARAMS` parameters, each name at most
`MAX_NAME_LENGTH` characters and each value at most `MAX_VALUE_LENGTH` (decoded): every parameter
any route reads fits well inside, and a refusal names the parameter (`QueryStringError.param`).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl, unquote_plus

MAX_DEPTH = 5
MAX_INDEX = 20
MAX_PARAMS = 100
MAX_NAME_LENGTH = 128
MAX_VALUE_LENGTH = 1024

_SEGMENT = re.compile(r"\[([^\[\]]*)\]")


class QueryStringError(ValueError):
    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


def parse(raw: str) -> dict[str, Any]:
    pieces = [p for p in raw.split("&", MAX_PARAMS) if p]
    if len(pieces) > MAX_PARAMS:  # the last piece is the unsplit rest
        first_extra = unquote_plus(pieces[-1].split("&", 1)[0].partition("=")[0])
        raise QueryStringError(
            f"a query string may hold at most {MAX_PARAMS} parameters", _short(first_extra)
        )
    pairs = parse_qsl("&".join(pieces), keep_blank_values=True)
    out: dict[str, Any] = {}
    for key, value in pairs:
        if len(key) > MAX_NAME_LENGTH:
            raise QueryStringError(
                f"query parameter names may be at most {MAX_NAME_LENGTH} characters", _short(key)
            )
        if len(value) > MAX_VALUE_LENGTH:
            raise QueryStringError(
                f"query parameter values may be at most {MAX_VALUE_LENGTH} characters", key
            )
        if "\x00" in key or "\x00" in value:
            raise QueryStringError(
                "query parameters may not contain NUL characters", key.replace("\x00", "")
            )
        bracket = key.find("[")
        if bracket <= 0:
            _put(out, key, value)
            continue
        path: list[str] = [key[:bracket]]
        rest = key[bracket:]
        pos = 0
        for match in _SEGMENT.finditer(rest):
            if match.start() != pos or len(path) > MAX_DEPTH:
                break
            path.append(match.group(1))
            pos = match.end()
        if pos != len(rest):
            if len(path) > MAX_DEPTH:
                path.append(rest[pos:])  # like qs: what lies past the depth limit is one key
            elif len(path) > 1:
                path[-1] += rest[pos:]  # text after a bracket belongs to that bracket's key
            else:
                path = [key]
        _assign(out, path, value)
    return {k: _finish(v) for k, v in out.items()}


def _short(name: str) -> str:
    return name if len(name) <= MAX_NAME_LENGTH else name[:MAX_NAME_LENGTH] + "…"


def _put(target: dict[str, Any], key: str, value: Any) -> None:
    if key in target:
        existing = target[key]
        if isinstance(existing, _List):
            existing.append(value)
        else:
            target[key] = _List.of(existing, value)
    else:
        target[key] = value


class _List(dict[int, Any]):
    """A list under construction: indices may arrive out of order or with gaps (`a[3]=x`)."""

    @classmethod
    def of(cls, *values: Any) -> _List:
        new = cls()
        for v in values:
            new.append(v)
        return new

    def append(self, value: Any) -> None:
        self[max(self, default=-1) + 1] = value


def _assign(target: dict[str, Any] | _List, path: list[str], value: str) -> None:
    node: Any = target
    for i, segment in enumerate(path):
        last = i == len(path) - 1
        next_is_list = not last and _is_index(path[i + 1])
        key: Any = segment
        if isinstance(node, _List):
            if segment == "":
                key = max(node, default=-1) + 1
            elif segment.isdigit() and int(segment) <= MAX_INDEX:
                key = int(segment)
            else:
                raise QueryStringError(f"mixed list and object keys in {path[0]!r}", path[0])
        elif isinstance(node, dict) and segment == "" and i > 0:
            raise QueryStringError(f"mixed list and object keys in {path[0]!r}", path[0])
        if last:
            if isinstance(node, _List):
                if key in node:
                    existing = node[key]
                    node[key] = existing if isinstance(existing, _List) else _List.of(existing)
                    node[key].append(value)
                else:
                    node[key] = value
            else:
                _put(node, key, value)
            return
        child = node.get(key)
        if child is None:
            child = _List() if next_is_list else {}
            node[key] = child
        elif not isinstance(child, dict):
            raise QueryStringError(
                f"parameter {path[0]!r} is given both as a value and as an object", path[0]
            )
        node = child


def _is_index(segment: str) -> bool:
    return segment == "" or (segment.isdigit() and int(segment) <= MAX_INDEX)


def _finish(value: Any) -> Any:
    if isinstance(value, _List):
        return [_finish(value[k]) for k in sorted(value)]
    if isinstance(value, dict):
        return {k: _finish(v) for k, v in value.items()}
    return value
