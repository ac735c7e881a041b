"""The API's description, for signed-in users only, served by the app itself.

FastAPI's built-in ``/api/docs`` loads Swagger UI from a CDN with an inline
script: the app's Content Security Policy blocks both (the page was blank),
nothing may load from a CDN here, and Swagger UI's files are not among the
installed packages. So the app renders its own page of the OpenAPI document
(every operation, its parameters and answers) with the site's own styles,
and both the page and ``/api/openapi.json`` need a signed-in user: the
document says which routes exist and what they take, which is no one's
business outside the council.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from review_ui.web.deps import AnyUser
from review_ui.web.render import render

router = APIRouter(include_in_schema=False)

METHODS = ("get", "post", "put", "patch", "delete")


def _operations(schema: dict[str, Any]) -> list[dict[str, Any]]:
    """Each operation of the document as the page lists it: method, path, summary, parameters, answers."""
    found = []
    for path, operations in schema.get("paths", {}).items():
        for method in METHODS:
            operation = operations.get(method)
            if operation is None:
                continue
            parameters = [
                {
                    "name": parameter.get("name", ""),
                    "where": parameter.get("in", ""),
                    "required": bool(parameter.get("required")),
                    "description": parameter.get("description") or "",
                }
                for parameter in operation.get("parameters", [])
            ]
            body = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
            found.append(
                {
                    "method": method.upper(),
                    "path": path,
                    "summary": operation.get("summary") or "",
                    "description": operation.get("description") or "",
                    "parameters": parameters,
                    "body": (body.get("schema") or {}).get("$ref", "").rsplit("/", 1)[-1],
                    "answers": [
                        {"status": status, "description": answer.get("description") or ""}
                        for status, answer in operation.get("responses", {}).items()
                    ],
                }
            )
    return found


@router.get("/api/openapi.json")
def openapi_document(request: Request, _who: AnyUser) -> Response:
    """The OpenAPI document (signed-in users only)."""
    return JSONResponse(request.app.openapi())


@router.get("/api/docs")
def api_docs(request: Request, _who: AnyUser) -> Response:
    """A page describing every API operation, from the OpenAPI document (signed-in users only)."""
    schema = request.app.openapi()
    return render(
        request,
        "api_docs.html",
        {
            "title": schema.get("info", {}).get("title", "API"),
            "schema_title": schema.get("info", {}).get("title", "API"),
            "summary": schema.get("info", {}).get("summary", ""),
            "operations": _operations(schema),
        },
    )
