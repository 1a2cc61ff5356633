"""The export API's routes: parse and validate, call one service function, shape the JSON answer.

POST /exports                   start an export, or with "objects" a sync of several (202; the same request
                                twice starts one)
GET  /exports/{id}              status, progress, and the manifest once it has ended
GET  /exports/{id}/records      the exported records, paginated (?limit=1..1000&cursor=...)
GET  /syncs/{id}                a sync's status, each object's run, and its summary (or plan) at the end
GET  /objects                   the objects this deployment offers
"""

from __future__ import annotations

import binascii
import json
import re
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types

from intacct_sync.api import errors, service, validation
from intacct_sync.api.errors import InvalidRequest
from intacct_sync.api.runtime import ApiRuntime
from intacct_sync.observability import logger

# Path templates as API Gateway declares them (template.yaml) and the methods each answers to.
ROUTES: dict[str, tuple[str, ...]] = {
    "/exports": ("POST",),
    "/exports/{id}": ("GET",),
    "/exports/{id}/records": ("GET",),
    "/syncs/{id}": ("GET",),
    "/objects": ("GET",),
}
_ROUTE_PATTERNS = [
    (re.compile("^" + re.sub(r"\\\{[^/]+\\\}", "[^/]+", re.escape(path)) + "/?$"), methods)
    for path, methods in ROUTES.items()
]


def allowed_methods(path: str) -> tuple[str, ...]:
    """The methods a concrete path answers to (empty when it matches no route)."""
    return next((methods for pattern, methods in _ROUTE_PATTERNS if pattern.match(path)), ())


def _json(status: HTTPStatus, document: Any, headers: dict[str, str] | None = None) -> Response[str]:
    return Response(
        status_code=status.value,
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps(document, default=str),
        headers={"Cache-Control": "no-store", **(headers or {})},
    )


def build_resolver(rt: ApiRuntime) -> APIGatewayRestResolver:
    """A resolver whose routes use `rt`; the handler builds one at cold start, tests one per case."""
    app = APIGatewayRestResolver()
    errors.register(app, allowed_methods)

    def base_url() -> str:
        """Where this API is reachable, as the caller reached it (execute-api URLs carry the stage)."""
        event = app.current_event
        context = event.request_context
        host = context.domain_name or event.headers.get("Host") or "localhost"
        scheme = (event.headers.get("X-Forwarded-Proto") or "https").split(",")[0].strip()
        stage = context.stage if host.endswith(".amazonaws.com") else ""
        return f"{scheme}://{host}" + (f"/{stage}" if stage and stage != "$default" else "")

    def links(export_id: str) -> dict[str, str]:
        base = f"{base_url()}/exports/{export_id}"
        return {"status_url": base, "records_url": f"{base}/records"}

    def sync_links(sync_id: str) -> dict[str, str]:
        return {"status_url": f"{base_url()}/syncs/{sync_id}"}

    def body_text() -> str | None:
        try:
            return app.current_event.decoded_body
        except (binascii.Error, UnicodeDecodeError):
            raise InvalidRequest("the request body is not UTF-8 text") from None

    @app.post("/exports")
    def post_export() -> Response[str]:
        headers = app.current_event.headers
        document = validation.json_object_body(body_text(), headers.get("Content-Type"))
        key = validation.idempotency_key(headers.get("Idempotency-Key"))
        if validation.is_sync(document):
            return post_sync(document, key)
        request = validation.export_request(document, rt.settings.objects, rt.settings.page_size)
        name = validation.execution_name(request, key, rt.clock().date())
        started = service.start_once(rt.executions, request, name)
        logger.info(
            "export requested",
            extra={"export_id": name, "object": request["object"], "new_export": started.created},
        )
        urls = links(name)
        answer_headers = {"Location": urls["status_url"]}
        if not started.created:
            answer_headers["Idempotent-Replayed"] = "true"
        return _json(
            HTTPStatus.ACCEPTED,
            {
                "export_id": name,
                "status": started.status,
                "created": started.created,
                "object": request["object"],
                "request": started.request,
                **urls,
            },
            answer_headers,
        )

    def post_sync(document: dict[str, Any], key: str | None) -> Response[str]:
        request = validation.sync_request(document, rt.settings.objects)
        if "resume_sync_id" in request:  # refused here, not by a sync that fails after a 202
            service.check_rerun(rt.store, request["resume_sync_id"])
        name = validation.execution_name(request, key, rt.clock().date())
        started = service.start_once(rt.sync_executions, request, name, "sync")
        logger.info("sync requested", extra={"sync_id": name, "new_sync": started.created})
        urls = sync_links(name)
        answer_headers = {"Location": urls["status_url"]}
        if not started.created:
            answer_headers["Idempotent-Replayed"] = "true"
        body = {"sync_id": name, "status": started.status, "created": started.created, "request": request}
        return _json(HTTPStatus.ACCEPTED, {**body, **urls}, answer_headers)

    @app.get("/syncs/<sync_id>")
    def get_sync(sync_id: str) -> Response[str]:
        name = validation.sync_id(sync_id)
        document = service.sync_status(rt.sync_executions, rt.state, rt.store, name)
        return _json(HTTPStatus.OK, {**document, **sync_links(name)})

    @app.get("/exports/<export_id>")
    def get_export(export_id: str) -> Response[str]:
        name = validation.export_id(export_id)
        document = service.export_status(rt.executions, rt.state, rt.store, name)
        return _json(HTTPStatus.OK, {**document, **links(name)})

    @app.get("/exports/<export_id>/records")
    def get_records(export_id: str) -> Response[str]:
        name = validation.export_id(export_id)
        event = app.current_event
        limit, cursor = validation.records_query(
            event.query_string_parameters, event.multi_value_query_string_parameters
        )
        start = validation.decode_cursor(cursor, name) if cursor else (0, 0)
        manifest = service.succeeded_manifest(rt.executions, rt.state, rt.store, name)
        records, following = service.read_records(rt.store, manifest, start, limit)
        next_cursor = validation.encode_cursor(name, *following) if following else None
        return _json(
            HTTPStatus.OK,
            {
                "export_id": name,
                "object": manifest.get("object"),
                "total_records": manifest.get("records_written"),
                "count": len(records),
                "records": records,
                "next_cursor": next_cursor,
                "next_url": f"{links(name)['records_url']}?limit={limit}&cursor={next_cursor}"
                if next_cursor
                else None,
            },
        )

    @app.get("/objects")
    def get_objects() -> Response[str]:
        return _json(HTTPStatus.OK, {"objects": [o.to_dict() for o in rt.settings.objects]})

    return app
