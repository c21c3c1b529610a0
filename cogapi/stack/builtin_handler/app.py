"""cogapi's built-in "Hello World" handler, deployed when `function.source` is null.

Proxy integration (REST v1.0 event): answers 200 with a JSON body naming the caller from the
authorizer claims. Non-proxy integration: cogapi's request template passes
`{"claims": {...}, "path": ..., "method": ...}` and the returned object is the response body.
Standard library only: it runs on a bare Lambda runtime.
"""

import json


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
            "headers": {"Content-Type": "application/json"},
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
