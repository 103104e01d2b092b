"""What routes are given: the service, the settings, the telemetry, and the key checks."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, HTTPException, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from coldrec.serve.engine import RecommenderService
from coldrec.serve.settings import Settings, hash_key
from coldrec.serve.telemetry import Telemetry

__all__ = ["AppSettings", "AppTelemetry", "IdPath", "Service", "read_access", "require_key"]

IdPath = Annotated[str, Path(min_length=1, max_length=200)]
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
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


def _authorised(settings: Settings, credentials: HTTPAuthorizationCredentials | None) -> bool:
    if credentials is None or credentials.scheme.lower() != "bearer":
        return False
    given = hash_key(credentials.credentials)
    return any(hmac.compare_digest(given, h) for h in settings.key_hashes())


def _unauthorised() -> HTTPException:
    return HTTPException(401, "a valid API key is required (Authorization: Bearer KEY)",
                         headers={"WWW-Authenticate": "Bearer"})


def require_key(settings: AppSettings, credentials: Credentials) -> None:
    """Writes and admin calls: a valid bearer API key or 401 (nothing is written); a local
    demo started with ``open_writes`` lets them through."""
    if not settings.open_writes and not _authorised(settings, credentials):
        raise _unauthorised()


def read_access(settings: AppSettings, credentials: Credentials) -> None:
    if not settings.open_reads and not _authorised(settings, credentials):
        raise _unauthorised()
