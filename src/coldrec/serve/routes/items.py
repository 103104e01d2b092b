"""The catalogue: new and changed products, browsing, one product, similar products."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query

from coldrec.serve import catalogue
from coldrec.serve.errors import AUTH_RESPONSES, NOT_FOUND
from coldrec.serve.routes.deps import IdPath, Service, require_key
from coldrec.serve.schemas import CatalogPage, ItemIn, ItemOut, Product, Recommendations

router = APIRouter(tags=["items"])
K = Annotated[int, Query(ge=1, le=200)]


@router.put("/items/{item_id:item}", response_model=ItemOut, dependencies=[Depends(require_key)],
            responses=AUTH_RESPONSES)
def put_item(item_id: IdPath, body: ItemIn, service: Service) -> ItemOut:
    """Create or change a product; a new one is recommendable at once from its text. (An id
    may hold '/', percent-encoded or not, but not end in '/similar': that path lists similar
    products.)"""
    return ItemOut(**service.upsert_item(item_id, body.model_dump(exclude_none=True)))


@router.get("/items", response_model=CatalogPage)
def catalog(service: Service, offset: Annotated[int, Query(ge=0)] = 0,
            limit: Annotated[int, Query(ge=1, le=200)] = 24,
            category: Annotated[str | None, Query(max_length=500)] = None,
            contains: Annotated[str | None, Query(max_length=200)] = None) -> CatalogPage:
    """Browse the catalogue, newest products first."""
    with service.reading() as live:
        total, page = catalogue.catalog_page(live, offset, limit, category, contains)
    return CatalogPage(total=total, offset=offset, items=[Product(**p) for p in page])


@router.get("/items/{item_id:item}/similar", response_model=Recommendations,
            responses=NOT_FOUND)
def similar(item_id: IdPath, service: Service, k: K = 10) -> Recommendations:
    items = service.similar(item_id, k)
    if items is None:
        raise HTTPException(404, f"unknown item_id {item_id!r}")
    return Recommendations(user_id=None, model_version=service.live.version, items=items)


@router.get("/items/{item_id:item}", response_model=Product, responses=NOT_FOUND)
def get_item(item_id: IdPath, service: Service) -> Product:
    with service.reading() as live:
        idx = live.item_index.get(item_id)
        item = None if idx is None else catalogue.describe(live, idx)
    if item is None:
        raise HTTPException(404, f"unknown item_id {item_id!r}")
    return Product(**item)
