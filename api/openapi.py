"""The OpenAPI document as the service takes requests, where FastAPI's says otherwise.

A parameter declared `X | None = None` is documented by FastAPI as `anyOf: [X, null]`,
but a query parameter or a header is there or not: `?as_of=null` sends the text "null",
which the service refuses. So no parameter's schema admits null (an absent one is None)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

NULL = {"type": "null"}


def _never_null(schema: dict[str, Any]) -> dict[str, Any]:
    options = schema.get("anyOf")
    if not options or NULL not in options:
        return schema
    rest = [option for option in options if option != NULL]
    outer = {key: value for key, value in schema.items() if key != "anyOf"}
    return {**outer, **rest[0]} if len(rest) == 1 else {**outer, "anyOf": rest}


def parameters_never_null(document: dict[str, Any]) -> dict[str, Any]:
    for item in document.get("paths", {}).values():
        for operation in item.values():
            for parameter in operation.get("parameters", ()):
                parameter["schema"] = _never_null(parameter["schema"])
    return document


def install(app: FastAPI) -> None:
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:  # generated once, then served as it is
            app.openapi_schema = parameters_never_null(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
