"""cogapi's built-in "Hello World" handler, deployed when `function.source` is null.

Proxy integration (REST v1.0 event): answers 200 with a JSON body naming the caller from the
authorizer claims. Non-proxy integration: cogapi's request template passes
`{"claims": {...}, "path": ..., "method": ...}` and the returned object is the response body.
Standard library only: it runs on a bare Lambda runtime.

CORS: when the stack has `api.cors`, cogapi sets COGAPI_CORS_ALLOW_ORIGINS (comma-separated, or
`*`) and COGAPI_CORS_ALLOW_CREDENTIALS on the function; a proxy answer then carries
Access-Control-Allow-Origin: the request's Origin when it is listed (or `*`), and `Vary: Origin`.
"""

import json
import os


def cors_headers(request_headers, environ=None):
    """The CORS headers of an answer to a request with these headers (empty when CORS is off)."""
    environ = os.environ if environ is None else environ
    allowed = [o for o in environ.get("COGAPI_CORS_ALLOW_ORIGINS", "").split(",") if o]
    if not allowed:
        return {}
    headers = {k.lower(): v for k, v in (request_headers or {}).items()}
    origin = str(headers.get("origin") or "")
    out = {}
    if allowed == ["*"]:
        out["Access-Control-Allow-Origin"] = "*"
    elif origin in allowed:
        out["Access-Control-Allow-Origin"] = origin
        out["Vary"] = "Origin"
    else:
        return {"Vary": "Origin"}
    if environ.get("COGAPI_CORS_ALLOW_CREDENTIALS") == "true":
        out["Access-Control-Allow-Credentials"] = "true"
    return out


def _caller(claims):
    claims = claims or {}
    return (
        claims.get("email")
        or claims.get("username")
        or claims.get("cognito:username")
        or claims.get("sub")
    )


def handler(event, context):
    event = event or {}
    if "requestContext" in event or "httpMethod" in event:  # proxy integration
        ctx = event.get("requestContext") or {}
        claims = (ctx.get("authorizer") or {}).get("claims")
        body = {
            "message": "Hello World",
            "caller": _caller(claims),
            "path": event.get("path"),
            "method": event.get("httpMethod"),
        }
        return {
            "statusCode": 200,
            "headers": {
                "Content-Type": "application/json",
                **cors_headers(event.get("headers")),
            },
            "body": json.dumps(body),
            "isBase64Encoded": False,
        }
    claims = event.get("claims") or {}
    claims = {k: v for k, v in claims.items() if v}  # unset claims render as "" in the template
    return {
        "message": "Hello World",
        "caller": _caller(claims),
        "path": event.get("path"),
        "method": event.get("method"),
    }
