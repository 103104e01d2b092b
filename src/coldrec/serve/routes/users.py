"""Shopper profiles and erasure."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from coldrec.serve.routes.deps import IdPath, Service, require_key
from coldrec.serve.schemas import UserIn

router = APIRouter(tags=["users"], dependencies=[Depends(require_key)])


@router.put("/users/{user_id}")
def put_user(user_id: IdPath, body: UserIn, service: Service) -> dict[str, Any]:
    created = service.upsert_user(user_id, body.attributes)
    return {"user_id": user_id, "created": created}


@router.delete("/users/{user_id}")
def delete_user(user_id: IdPath, service: Service) -> dict[str, Any]:
    return {"user_id": user_id, "events_removed": service.delete_user(user_id)}
