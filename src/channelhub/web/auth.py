"""The token every page and API call needs (all but /healthz, /readyz and the webhooks, which channels sign).

`Authorization: Bearer <token>` is compared with `[http] token` in constant time (`hmac.compare_digest` on the
UTF-8 bytes), so the answer's timing says nothing about how much of a guess was right. No token configured
means nothing guarded is reachable: the hub never serves its dashboard open by default.
"""

from __future__ import annotations

import hmac

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

SCHEME = "bearer"


def token_matches(authorization: str | None, token: str | None) -> bool:
    """True when the `Authorization` header value carries `token` as a bearer token (False when no token is
    configured, or the header is missing or of another scheme)."""
    if not token or not authorization:
        return False
    scheme, _, offered = authorization.strip().partition(" ")
    if scheme.lower() != SCHEME:
        return False
    return hmac.compare_digest(offered.strip().encode("utf-8"), token.encode("utf-8"))


def require_token(request: Request, token: str | None) -> Response | None:
    """None when the request carries the token; else the 401 to answer (never saying which part was wrong)."""
    if token_matches(request.headers.get("authorization"), token):
        return None
    detail = "a bearer token is required" if token else "no [http] token is configured: set token or token_file"
    return JSONResponse({"error": detail}, status_code=401, headers={"WWW-Authenticate": 'Bearer realm="channelhub"'})
