"""The catalogue: new and changed products, browsing, one product, similar products."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query

from coldrec.serve.routes.deps import IdPath, Service, read_access, require_key
from coldrec.serve.schemas import CatalogPage, ItemIn, ItemOut, Product, Recommendations

router = APIRouter(tags=["items"])
K = Annotated[int, Query(ge=1, le=200)]


@router.put("/items/{item_id}", response_model=ItemOut, dependencies=[Depends(require_key)])
def put_item(item_id: IdPath, body: ItemIn, service: Service) -> ItemOut:
    return ItemOut(**service.upsert_item(item_id, body.model_dump(exclude_none=True)))


@router.get("/items", response_model=CatalogPage, dependencies=[Depends(read_access)])
def catalog(service: Service, offset: Annotated[int, Query(ge=0)] = 0,
            limit: Annotated[int, Query(ge=1, le=200)] = 24,
            category: Annotated[str | None, Query(max_length=500)] = None,
            contains: Annotated[str | None, Query(max_length=200)] = None) -> CatalogPage:
    """Browse the catalogue, newest products first."""
    total, page = service.catalog_page(offset, limit, category, contains)
    return CatalogPage(total=total, offset=offset, items=[Product(**p) for p in page])


@router.get("/items/{item_id}", response_model=Product, dependencies=[Depends(read_access)])
def get_item(item_id: IdPath, service: Service) -> Product:
    item = service.item(item_id)
    if item is None:
        raise HTTPException(404, f"unknown item_id {item_id!r}")
    return Product(**item)


@router.get("/items/{item_id}/similar", response_model=Recommendations,
            dependencies=[Depends(read_access)])
def similar(item_id: IdPath, service: Service, k: K = 10) -> Recommendations:
    items = service.similar(item_id, k)
    if items is None:
        raise HTTPException(404, f"unknown item_id {item_id!r}")
    return Recommendations(user_id=None, model_version=service.live.version, items=items)
