"""Malformed input at every endpoint never produces a server error (Hypothesis)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.serve.conftest import AUTH

json_scalars = st.none() | st.booleans() | st.integers(-2**70, 2**70) | \
    st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=30)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner,
                                                                max_size=4),
    max_leaves=12)
field_names = st.sampled_from(["user_id", "item_id", "event_type", "value", "timestamp",
                               "events", "title", "price", "in_stock", "attributes", "items",
                               "query", "k", "rerank", "exclude_categories", "price_min"])
bodies = json_values | st.dictionaries(field_names, json_values, max_size=6) | \
    st.fixed_dictionaries({"events": st.lists(st.dictionaries(field_names, json_values,
                                                              max_size=4), max_size=3)})
path_ids = st.text(min_size=1, max_size=40).filter(lambda t: "/" not in t and t.strip())
queries = st.dictionaries(st.sampled_from(["k", "q", "user_id", "price_min", "price_max",
                                           "in_stock_only", "exclude_category", "rerank",
                                           "wait"]),
                          st.text(max_size=12) | st.integers(-5, 500).map(str), max_size=4)

ENDPOINTS = [("post", "/events"), ("put", "/items/{id}"), ("put", "/users/{id}"),
             ("delete", "/users/{id}"), ("get", "/recommend/{id}"), ("post", "/recommend"),
             ("get", "/items/{id}/similar"), ("get", "/search"), ("get", "/health")]


@settings(max_examples=150, deadline=None, suppress_health_check=[
    HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(endpoint=st.sampled_from(ENDPOINTS), ident=path_ids, body=bodies, params=queries,
       keyed=st.booleans())
def test_no_server_errors(module_client: TestClient, endpoint: tuple[str, str], ident: str,
                          body: Any, params: dict[str, str], keyed: bool) -> None:
    method, template = endpoint
    url = template.replace("{id}", quote(ident, safe=""))
    kwargs: dict[str, Any] = {"params": params, "headers": AUTH if keyed else {}}
    if method in ("post", "put"):
        kwargs["json"] = body
    response = module_client.request(method.upper(), url, **kwargs)
    assert response.status_code < 500, (method, url, body, params, response.text)


def test_not_json_and_wrong_content_type(module_client: TestClient) -> None:
    for raw in (b"{", b"\xff\xfe", b"null", b"[]", b'{"user_id": NaN}'):
        r = module_client.post("/events", content=raw, headers={
            **AUTH, "content-type": "application/json"})
        assert r.status_code == 422, r.text
    r = module_client.post("/recommend", content=b"k=5", headers={
        "content-type": "application/x-www-form-urlencoded"})
    assert r.status_code == 422
