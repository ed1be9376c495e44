"""The audit log's public face: its key and latest signed tree head, for anyone to check proofs."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_http_methods

from . import selectors

PUBLIC_CACHE_SECONDS = 60


@require_http_methods(["GET", "HEAD"])
def audit_key(request: HttpRequest) -> JsonResponse:
    """/.well-known/hawiya-audit-key: the Ed25519 public keys (base64, raw 32 bytes) with their key
    ids, the current one first, then any retired ones; and the latest signed tree head. Public and
    cacheable: sizes, hashes and a time, nothing about any person."""
    latest = selectors.audit_latest_seal()
    document = {
        "log": "hawiya-audit",
        "keys": selectors.audit_public_keys(),
        "signed_tree_head": None if latest is None else selectors.signed_tree_head(latest),
    }
    response = JsonResponse(document)
    response["Cache-Control"] = f"public, max-age={PUBLIC_CACHE_SECONDS}"
    response["Access-Control-Allow-Origin"] = "*"
    return response
