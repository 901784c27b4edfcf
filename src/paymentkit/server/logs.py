"""What the server logs and how: control characters escaped, text or one JSON object per line.

Paths, methods and headers are the client's: a CR or an ESC in them must not start a forged
line or drive the operator's terminal, so every record is escaped before any handler writes it
(`EscapeControlCharacters`). `paymentkit serve --log-format json` writes one JSON object per
line, and one line per request (`request_record`) with the request id, method, route template,
status, duration and API key id — never a secret, an email or a body.
"""

from __future__ import annotations

import copy
import json
import logging
import re
import time
import traceback
from typing import Any, Literal

REQUEST_LOGGER = "paymentkit.request"
LogFormat = Literal["text", "json"]

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_CONTROL_BUT_NEWLINE = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029]")


def _escaped(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape(text: str) -> str:
    """`text` with every control character (C0, DEL, C1, line and paragraph separators) written
    as a visible escape such as `\\x1b`: one log record stays one line."""
    return _CONTROL.sub(_escaped, text)


class EscapeControlCharacters(logging.Filter):
    """Escapes a record's message, arguments and traceback in place, for any formatter (uvicorn's
    access formatter reads the arguments one by one). Escaping is idempotent."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = escape(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_escape_arg(a) for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: _escape_arg(v) for k, v in record.args.items()}
        if record.exc_info and not record.exc_text:
            record.exc_text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
        if record.exc_text:  # a traceback is many lines; what it quotes must not add any
            record.exc_text = _CONTROL_BUT_NEWLINE.sub(_escaped, record.exc_text)
        return True


def _escape_arg(value: Any) -> Any:
    if isinstance(value, bool | int | float) or value is None:
        return value
    return escape(value if isinstance(value, str) else str(value))


class JSONFormatter(logging.Formatter):
    """One JSON object per line: a request's fields (see `request_record`), or any other record
    as time, level, logger, message and its traceback."""

    def format(self, record: logging.LogRecord) -> str:
        fields: dict[str, Any] = {
            "time": _iso(record.created),
            "level": record.levelname.lower(),
        }
        request = getattr(record, "request", None)
        if isinstance(request, dict):
            fields["event"] = "request"
            fields.update(request)
        else:
            fields["logger"] = record.name
            fields["message"] = record.getMessage()
            if record.exc_info:
                fields["exception"] = self.formatException(record.exc_info)
        return json.dumps(fields, ensure_ascii=True, default=str)


def _iso(created: float) -> str:
    return (
        time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(created))
        + f".{int(created % 1 * 1000):03d}Z"
    )


def request_record(
    request_id: str,
    method: str,
    route: str | None,
    status: int,
    duration_ms: float,
    key_id: str | None,
) -> dict[str, Any]:
    """The fields of a request's line. `route` is the template (`/api/customers/{id}`), so no id
    or DID from the path is logged; None when no route matched."""
    return {
        "request_id": request_id,
        "method": method,
        "route": route,
        "status": status,
        "duration_ms": round(duration_ms, 3),
        "key_id": key_id,
    }


def log_config(fmt: LogFormat) -> dict[str, Any]:
    """The `logging.config.dictConfig` of `paymentkit serve`. text: uvicorn's own format (its
    access log only with --access-log), the server's errors beside uvicorn's; json: every record
    as a JSON line, and one line per request instead of uvicorn's access log."""
    from uvicorn.config import LOGGING_CONFIG

    config: dict[str, Any] = copy.deepcopy(LOGGING_CONFIG)
    config["filters"] = {"escape": {"()": EscapeControlCharacters}}
    for handler in config["handlers"].values():
        handler["filters"] = ["escape"]
    loggers = config["loggers"]
    loggers["paymentkit"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    if fmt == "json":
        config["formatters"] = {"json": {"()": JSONFormatter}}
        for handler in config["handlers"].values():
            handler["formatter"] = "json"
        loggers[REQUEST_LOGGER] = {"handlers": ["access"], "level": "INFO", "propagate": False}
        loggers["uvicorn.access"] = {"handlers": [], "level": "WARNING", "propagate": False}
    else:
        loggers[REQUEST_LOGGER] = {"handlers": [], "level": "WARNING", "propagate": False}
    return config
