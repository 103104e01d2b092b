"""Shopper profiles and erasure."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from coldrec.serve.errors import AUTH_RESPONSES
from coldrec.serve.routes.deps import IdPath, Service, require_key
from coldrec.serve.schemas import Erased, UserIn

router = APIRouter(tags=["users"], dependencies=[Depends(require_key)],
                   responses=AUTH_RESPONSES)


@router.put("/users/{user_id:id}")
def put_user(user_id: IdPath, body: UserIn, service: Service) -> dict[str, Any]:
    created = service.upsert_user(user_id, body.attributes)
    return {"user_id": user_id, "created": created}


@router.delete("/users/{user_id:id}", response_model=Erased)
def delete_user(user_id: IdPath, service: Service) -> Erased:
    """Erase a shopper: their profile and events from the store, their history and
    per-user state from the live models at once; a retrain (scheduled, in the answer)
    removes what they added to item-side state."""
    return Erased(**service.delete_user(user_id))
