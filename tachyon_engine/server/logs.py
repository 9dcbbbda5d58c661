"""Logging as uvicorn sets it up, under loggers of our own: `tachyon.error` for the server's
messages, `tachyon.access` for one line per response in uvicorn's access-log format
(`127.0.0.1:50012 - "GET /path?q=1 HTTP/1.1" 200 OK`). `--log-config` takes the same files as
uvicorn's (`.json`, `.yaml`/`.yml`, or an ini file for `logging.config.fileConfig`)."""

from __future__ import annotations

import http
import json
import logging
import logging.config
import urllib.parse
from pathlib import Path
from typing import Any

TRACE = 5
LEVELS = {
    "critical": logging.CRITICAL,
    "error": logging.ERROR,
    "warning": logging.WARNING,
    "info": logging.INFO,
    "debug": logging.DEBUG,
    "trace": TRACE,
}

error_logger = logging.getLogger("tachyon.error")
access_logger = logging.getLogger("tachyon.access")


class DefaultFormatter(logging.Formatter):
    """`%(levelprefix)s`: the level name and a colon, padded to uvicorn's width."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        record.__dict__["levelprefix"] = f"{record.levelname}:".ljust(9)
        return super().formatMessage(record)


class AccessFormatter(DefaultFormatter):
    """`%(client_addr)s`, `%(request_line)s` and `%(status_code)s` from the access record's args."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        client_addr, method, full_path, http_version, status = record.args  # type: ignore[misc]
        try:
            phrase = http.HTTPStatus(int(str(status))).phrase
        except ValueError:
            phrase = ""
        record.__dict__.update(
            client_addr=client_addr,
            request_line=f"{method} {full_path} HTTP/{http_version}",
            status_code=f"{status} {phrase}",
        )
        return super().formatMessage(record)


LOGGING_CONFIG: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "default": {"()": DefaultFormatter, "fmt": "%(levelprefix)s %(message)s"},
        "access": {
            "()": AccessFormatter,
            "fmt": '%(levelprefix)s %(client_addr)s - "%(request_line)s" %(status_code)s',
        },
    },
    "handlers": {
        "default": {"formatter": "default", "class": "logging.StreamHandler", "stream": "ext://sys.stderr"},
        "access": {"formatter": "access", "class": "logging.StreamHandler", "stream": "ext://sys.stdout"},
    },
    "loggers": {
        "tachyon": {"handlers": ["default"], "level": "INFO", "propagate": False},
        "tachyon.error": {"level": "INFO"},
        "tachyon.access": {"handlers": ["access"], "level": "INFO", "propagate": False},
    },
}


def configure(log_config: dict[str, Any] | str | None, log_level: str | int | None, access_log: bool) -> None:
    logging.addLevelName(TRACE, "TRACE")
    if isinstance(log_config, dict):
        logging.config.dictConfig(log_config)
    elif isinstance(log_config, str):
        path = Path(log_config)
        if path.suffix == ".json":
            logging.config.dictConfig(json.loads(path.read_text()))
        elif path.suffix in (".yaml", ".yml"):
            import yaml  # type: ignore[import-untyped]  # the same optional dependency as uvicorn's for YAML configs

            logging.config.dictConfig(yaml.safe_load(path.read_text()))
        else:
            logging.config.fileConfig(log_config, disable_existing_loggers=False)
    if log_level is not None:
        level = LEVELS[log_level] if isinstance(log_level, str) else log_level
        for name in ("tachyon", "tachyon.error", "tachyon.access"):
            logging.getLogger(name).setLevel(level)
    if not access_log:
        access_logger.handlers = []
        access_logger.propagate = False


def _client_addr(scope: dict[str, Any]) -> str:
    client = scope.get("client")
    if not client:
        return ""
    return f"{client[0]}:{int(client[1])}"


def _full_path(scope: dict[str, Any]) -> str:
    path: str = scope["raw_path"].decode("latin1")
    if scope["query_string"]:
        path = "{}?{}".format(path, scope["query_string"].decode("ascii"))
    return path.replace('"', "%22")


def access_log(scope: dict[str, Any], status: int) -> None:
    """Called by the native cycle when a response starts (only while the access log is on)."""
    access_logger.info(
        '%s - "%s %s HTTP/%s" %d',
        _client_addr(scope),
        scope["method"],
        _full_path(scope),
        scope["http_version"],
        status,
    )


def websocket_log(scope: dict[str, Any], outcome: str | int) -> None:
    """uvicorn's line for each answer to a WebSocket handshake ('[accepted]', 403, a denial's
    status), on the error logger at INFO, as uvicorn writes it."""
    path = urllib.parse.quote(scope["path"])
    if scope["query_string"]:
        path = "{}?{}".format(path, scope["query_string"].decode("ascii"))
    error_logger.info('%s - "WebSocket %s" %s', _client_addr(scope), path, outcome)


def server_log(level: int, message: str) -> None:
    """Log lines from the server's tokio side."""
    error_logger.log(level, message)
