"""The one place where exceptions become HTTP answers: `{"error": "<code>", "message": "<what was wrong>"}`.

Domain exceptions (InvalidExportRequest, ...) and the API's own (ApiError subclasses) map to a status and a
stable code; anything else is a 500 whose message says nothing about the internals (it is logged instead).
"""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from botocore.exceptions import ClientError

from intacct_sync.errors import InvalidExportRequest
from intacct_sync.export.sync import UnknownSyncObject
from intacct_sync.observability import logger


class ApiError(Exception):
    """An answer other than success; subclasses fix the status and the code."""

    status: HTTPStatus = HTTPStatus.BAD_REQUEST
    code: str = "bad_request"

    def __init__(self, message: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.headers = headers or {}


class InvalidJson(ApiError):
    code = "invalid_json"


class InvalidRequest(ApiError):
    code = "invalid_request"


class UnknownObject(ApiError):
    code = "unknown_object"


class InvalidIdempotencyKey(ApiError):
    code = "invalid_idempotency_key"


class InvalidExportId(ApiError):
    code = "invalid_export_id"


class InvalidSyncId(ApiError):
    code = "invalid_sync_id"


class InvalidQueryParameter(ApiError):
    code = "invalid_query_parameter"


class InvalidLimit(ApiError):
    code = "invalid_limit"


class InvalidCursor(ApiError):
    code = "invalid_cursor"


class ExportNotFound(ApiError):
    status, code = HTTPStatus.NOT_FOUND, "export_not_found"


class SyncNotFound(ApiError):
    status, code = HTTPStatus.NOT_FOUND, "sync_not_found"


class RouteNotFound(ApiError):
    status, code = HTTPStatus.NOT_FOUND, "not_found"


class MethodNotAllowed(ApiError):
    status, code = HTTPStatus.METHOD_NOT_ALLOWED, "method_not_allowed"


class IdempotencyKeyReused(ApiError):
    status, code = HTTPStatus.CONFLICT, "idempotency_key_reused"


class ExportNotFinished(ApiError):
    status, code = HTTPStatus.CONFLICT, "export_not_finished"


class ExportFailed(ApiError):
    status, code = HTTPStatus.CONFLICT, "export_failed"


class RequestTooLarge(ApiError):
    status, code = HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "request_too_large"


class UnsupportedMediaType(ApiError):
    status, code = HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type"


# Domain exceptions raised below the API, and what each means to a caller.
DOMAIN_ERRORS: dict[type[Exception], tuple[HTTPStatus, str]] = {
    UnknownSyncObject: (HTTPStatus.BAD_REQUEST, "unknown_object"),
    InvalidExportRequest: (HTTPStatus.BAD_REQUEST, "invalid_request"),
}

# AWS answers that say "not now" rather than "broken": the caller should retry later.
RETRYABLE_AWS_CODES = {
    "ThrottlingException",
    "TooManyRequestsException",
    "ExecutionLimitExceeded",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "SlowDown",
    "ServiceUnavailable",
}


def error_response(
    status: HTTPStatus, code: str, message: str, headers: dict[str, str] | None = None
) -> Response[str]:
    return Response(
        status_code=status.value,
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps({"error": code, "message": message}),
        headers=headers or {},
    )


def to_response(exc: Exception) -> Response[str]:
    """Map any exception to its HTTP answer (the only mapping in the API)."""
    if isinstance(exc, ApiError):
        return error_response(exc.status, exc.code, exc.message, exc.headers)
    for exc_type, (status, code) in DOMAIN_ERRORS.items():
        if isinstance(exc, exc_type):
            return error_response(status, code, str(exc))
    if isinstance(exc, ClientError):
        aws_code = exc.response.get("Error", {}).get("Code", "")
        if aws_code in RETRYABLE_AWS_CODES:
            logger.warning("AWS asked us to slow down", extra={"aws_error": aws_code})
            return error_response(
                HTTPStatus.SERVICE_UNAVAILABLE,
                "service_unavailable",
                "the service is busy; retry in a few seconds",
                {"Retry-After": "5"},
            )
    # Unexpected: log everything for us, tell the caller nothing about the internals.
    logger.exception("unhandled error in the export API")
    return error_response(
        HTTPStatus.INTERNAL_SERVER_ERROR,
        "internal_error",
        "the request could not be completed because of an internal error; it has been logged",
    )


def register(app: APIGatewayRestResolver, allowed_methods: Any) -> None:
    """Install the mapping on a resolver. `allowed_methods(path)` lists the methods a path answers to
    (empty when no route matches), so a wrong method gets 405 rather than 404."""

    @app.exception_handler(Exception)
    def handle_any(exc: Exception) -> Response[str]:
        return to_response(exc)

    @app.not_found
    def handle_not_found(_: NotFoundError) -> Response[str]:
        event = app.current_event
        methods = allowed_methods(event.path)
        if methods:
            return to_response(
                MethodNotAllowed(
                    f"{event.http_method} is not allowed on {event.path}; use {', '.join(methods)}",
                    headers={"Allow": ", ".join(methods)},
                )
            )
        return to_response(RouteNotFound(f"no such resource: {event.path[:200]}"))
