"""What routes are given: the service, the settings, the telemetry, and the key checks."""

from __future__ import annotations

import hmac
import re
from typing import Annotated, get_args, get_origin

from fastapi import Depends, HTTPException, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import AfterValidator
from starlette.convertors import PathConvertor, register_url_convertor

from coldrec.data.ids import ID_PATTERN, MAX_ID_LENGTH, clean_id
from coldrec.serve.engine import RecommenderService
from coldrec.serve.settings import Settings, hash_key
from coldrec.serve.telemetry import Telemetry

__all__ = ["AppSettings", "AppTelemetry", "IdPath", "IdQuery", "Service", "known_query",
           "read_access", "require_key"]

class IdPathConvertor(PathConvertor):
    """An id in a path: anything, '/' and line breaks included, so that every id that can
    be written can be addressed (validation then names what is wrong with it)."""

    regex = r"[\s\S]*"


class ItemPathConvertor(PathConvertor):
    """A product id in a path, but not ending in '/similar' (that path lists the product's
    similar products), so ``PUT /items/x/similar`` is a 405, not a write."""

    regex = r"[\s\S]*(?<!/similar)"


register_url_convertor("id", IdPathConvertor())
register_url_convertor("item", ItemPathConvertor())

IdPath = Annotated[str, Path(min_length=1, max_length=MAX_ID_LENGTH,
                             json_schema_extra={"pattern": ID_PATTERN}),
                   AfterValidator(clean_id)]
IdQuery = Annotated[str | None, Query(min_length=1, max_length=MAX_ID_LENGTH,
                                      json_schema_extra={"pattern": ID_PATTERN}),
                    AfterValidator(lambda v: None if v is None else clean_id(v))]
bearer = HTTPBearer(auto_error=False)


def known_query(request: Request) -> None:
    """Refuse query parameters the route does not declare (a misspelt filter would
    otherwise be ignored without a word)."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    names = _query_names(route)
    unknown = sorted(set(request.query_params) - set(names))
    if unknown:
        raise RequestValidationError([{"loc": ("query", unknown[0]), "type": "extra_forbidden",
                                       "msg": f"unknown query parameter; this route takes "
                                              f"{', '.join(sorted(names)) or 'none'}"}])
    repeated = sorted(name for name, many in names.items()
                      if not many and len(request.query_params.getlist(name)) > 1)
    if repeated:
        raise RequestValidationError([{"loc": ("query", repeated[0]), "type": "repeated",
                                       "msg": "this query parameter takes one value"}])


def _query_names(route: APIRoute) -> dict[str, bool]:
    """Each query parameter of the route (and its dependencies): whether it takes a list."""
    names: dict[str, bool] = {}
    pending = [route.dependant]
    while pending:
        dependant = pending.pop()
        for field in dependant.query_params:
            names[field.alias] = _takes_list(field.field_info.annotation)
        pending += dependant.dependencies
    return names


def _takes_list(annotation: object) -> bool:
    if get_origin(annotation) in (list, tuple, set):
        return True
    return any(_takes_list(arg) for arg in get_args(annotation))


def get_service(request: Request) -> RecommenderService:
    return request.app.state.service


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_telemetry(request: Request) -> Telemetry:
    return request.app.state.telemetry


Service = Annotated[RecommenderService, Depends(get_service)]
AppSettings = Annotated[Settings, Depends(get_settings)]
AppTelemetry = Annotated[Telemetry, Depends(get_telemetry)]
#: the bearer scheme as declared in the OpenAPI document; the header itself is read strictly
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
#: ``Bearer`` and one space, then a token of RFC 6750's characters
BEARER = re.compile(r"Bearer ([A-Za-z0-9\-._~+/]+=*)")


def _authorised(settings: Settings, request: Request) -> bool:
    found = BEARER.fullmatch(request.headers.get("authorization", ""))
    if found is None:
        return False
    given = hash_key(found.group(1))
    return any(hmac.compare_digest(given, h) for h in settings.key_hashes())


def _unauthorised() -> HTTPException:
    return HTTPException(401, "a valid API key is required (Authorization: Bearer KEY)",
                         headers={"WWW-Authenticate": "Bearer"})


def require_key(request: Request, settings: AppSettings, _: Credentials) -> None:
    """Writes and admin calls: a valid bearer API key or 401 (nothing is written); a local
    demo started with ``open_writes`` lets them through."""
    if not settings.open_writes and not _authorised(settings, request):
        raise _unauthorised()


def read_access(request: Request, settings: AppSettings, _: Credentials) -> None:
    """Reads: a valid bearer API key or 401 (attached only when reads are not open)."""
    if not settings.open_reads and not _authorised(settings, request):
        raise _unauthorised()
