"""Administration: retrain on the store and swap."""

from __future__ import annotations

import threading
from typing import Any

from fastapi import APIRouter, Depends

from coldrec.serve.errors import AUTH_RESPONSES
from coldrec.serve.routes.deps import Service, require_key

router = APIRouter(tags=["admin"], dependencies=[Depends(require_key)],
                   responses=AUTH_RESPONSES)


@router.post("/admin/retrain", status_code=202)
def retrain(service: Service, wait: bool = False) -> dict[str, Any]:
    """Retrain on the store and swap atomically (in the background unless ``wait``)."""
    if wait:
        return {"model_version": service.retrain()}
    threading.Thread(target=service.retrain, name="coldrec-retrain", daemon=True).start()
    return {"status": "retraining", "model_version": service.live.version}
