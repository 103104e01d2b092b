"""Recommendations for known, new and anonymous shoppers, the new-arrivals shelf, search."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from coldrec.experiments.design import Variant
from coldrec.rerank import SPEC_PATTERN
from coldrec.serve.engine import Filters, RecommenderService
from coldrec.serve.routes.deps import AppSettings, IdPath, IdQuery, Service
from coldrec.serve.schemas import RERANK_HELP, Recommendations, RecommendRequest

router = APIRouter(tags=["recommend"])
K = Annotated[int, Query(ge=1, le=200)]
Price = Annotated[float | None, Query(ge=0, allow_inf_nan=False)]
RerankQuery = Annotated[str | None, Query(max_length=200, description=RERANK_HELP,
                                          json_schema_extra={"pattern": SPEC_PATTERN})]


def query_filters(in_stock_only: bool = False,
                  exclude_category: Annotated[list[str], Query(max_length=100)] = [],  # noqa: B006
                  price_min: Price = None, price_max: Price = None) -> Filters:
    """The business rules of a GET request (in stock, excluded categories, price range)."""
    return Filters(in_stock_only, tuple(exclude_category), price_min, price_max)


QueryFilters = Annotated[Filters, Depends(query_filters)]


@router.get("/recommend/{user_id:id}/new-arrivals", response_model=Recommendations)
def new_arrivals(user_id: IdPath, service: Service, settings: AppSettings,
                 k: K = 10) -> Recommendations:
    """The newest products (first seen most recently), ranked for this shopper."""
    items = service.recommend(user_id, min(k, settings.max_k), new_arrivals=True)
    return answer(service, user_id, items, None)


@router.get("/recommend/{user_id:id}", response_model=Recommendations)
def recommend_user(
    user_id: IdPath, service: Service, settings: AppSettings, filters: QueryFilters,
    k: K = 10, rerank: RerankQuery = None,
) -> Recommendations:
    variant = service.assign(user_id)
    items = service.recommend(user_id, min(k, settings.max_k), filters=filters,
                              rerank=rerank, variant=variant)
    return answer(service, user_id, items, variant)


@router.post("/recommend", response_model=Recommendations)
def recommend_new(body: RecommendRequest, service: Service,
                  settings: AppSettings) -> Recommendations:
    filters = Filters(body.in_stock_only, tuple(body.exclude_categories), body.price_min,
                      body.price_max)
    variant = service.assign(body.user_id)
    items = service.recommend(body.user_id, min(body.k, settings.max_k),
                              attributes=body.attributes, items=body.items, query=body.query,
                              filters=filters, rerank=body.rerank, variant=variant)
    return answer(service, body.user_id, items, variant)


@router.get("/search", response_model=Recommendations)
def search(service: Service, q: Annotated[str, Query(min_length=1, max_length=1000)],
           filters: QueryFilters,
           user_id: IdQuery = None,
           k: K = 10) -> Recommendations:
    return Recommendations(user_id=user_id, model_version=service.live.version,
                           items=service.search(q, k, user_id, filters=filters))


def answer(service: RecommenderService, user_id: str | None, items: list[dict[str, Any]],
           variant: Variant | None) -> Recommendations:
    """The response body; an experiment's answers name the experiment and the variant."""
    exp = service.experiment if variant is not None else None
    return Recommendations(user_id=user_id, model_version=service.live.version, items=items,
                           experiment=None if exp is None else exp.name,
                           variant=None if exp is None else exp.label(variant))
