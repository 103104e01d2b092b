"""One error body for every 4xx the API answers, and the handlers that produce it."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException

__all__ = ["ERROR_RESPONSES", "Problem", "install_error_handlers", "problem"]


class ProblemItem(BaseModel):
    """One thing wrong: where (``loc``, e.g. ``["body", "user_id"]``; empty when the whole
    request is meant), what (``msg``) and its kind (``type``)."""

    loc: list[str | int]
    msg: str
    type: str


class Problem(BaseModel):
    """The body of every error answer."""

    detail: list[ProblemItem]


def problem(status: int, msg: str, kind: str, loc: list[str | int] | None = None,
            headers: dict[str, str] | None = None) -> JSONResponse:
    body = Problem(detail=[ProblemItem(loc=loc or [], msg=msg, type=kind)])
    return JSONResponse(status_code=status, content=body.model_dump(), headers=headers)


#: the error answers every route may give, for the OpenAPI document
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": Problem, "description": "the body cannot be read as JSON"},
    413: {"model": Problem, "description": "the body is over the size limit, or a batch over "
                                           "its limit"},
    422: {"model": Problem, "description": "a field, id or parameter is invalid"},
}
AUTH_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem, "description": "a valid API key is required"}}
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": Problem, "description": "no such product, experiment or report"}}


async def _invalid_request(_request: Request, exc: Exception) -> JSONResponse:
    # field, message and type only: echoing the input could be unserialisable (NaN)
    assert isinstance(exc, RequestValidationError)
    items = [ProblemItem(loc=[str(p) if not isinstance(p, int) else p
                              for p in e.get("loc", ())],
                         msg=str(e.get("msg", "")), type=str(e.get("type", "")))
             for e in exc.errors()]
    return JSONResponse(status_code=422, content=Problem(detail=items).model_dump())


async def _coldrec_error(_request: Request, exc: Exception) -> JSONResponse:
    return problem(422, str(exc), type(exc).__name__)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    headers = dict(exc.headers or {})
    if exc.status_code == 405:  # every method the routes of this path take
        headers["Allow"] = ", ".join(allowed_methods(request))
    return problem(exc.status_code, str(exc.detail), "http_error", headers=headers)


def allowed_methods(request: Request) -> list[str]:
    """The methods the routes matching the request's path take."""
    methods: set[str] = set()
    for pattern, route_methods in request.app.state.route_methods:
        if pattern.match(request.url.path):
            methods |= route_methods
    return sorted(methods)


def install_error_handlers(app: Any) -> None:
    """Every error the app answers in the :class:`Problem` shape."""
    from coldrec.errors import ColdrecError

    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(ColdrecError, _coldrec_error)
    app.add_exception_handler(HTTPException, _http_error)
