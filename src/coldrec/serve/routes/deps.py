"""What routes are given: the service, the settings, the telemetry, and the key checks."""

from __future__ import annotations

import hmac
import re
from typing import Annotated

from fastapi import Depends, HTTPException, Path, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import AfterValidator

from coldrec.data.ids import MAX_ID_LENGTH, clean_id
from coldrec.serve.engine import RecommenderService
from coldrec.serve.settings import Settings, hash_key
from coldrec.serve.telemetry import Telemetry

__all__ = ["AppSettings", "AppTelemetry", "IdPath", "IdQuery", "Service", "read_access",
           "require_key"]

IdPath = Annotated[str, Path(min_length=1, max_length=MAX_ID_LENGTH),
                   AfterValidator(clean_id)]
IdQuery = Annotated[str | None, Query(min_length=1, max_length=MAX_ID_LENGTH),
                    AfterValidator(lambda v: None if v is None else clean_id(v))]
bearer = HTTPBearer(auto_error=False)


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
