import json
import os


def handler(event, context):
    # A proxy handler adds its own CORS header: API Gateway adds none to a proxy answer.
    claims = ((event.get("requestContext") or {}).get("authorizer") or {}).get("claims") or {}
    return {
        "statusCode": 200,
        "headers": {
            "Content-Type": "application/json",
            "Access-Control-Allow-Origin": os.environ["ALLOW_ORIGIN"],
        },
        "body": json.dumps({"path": event["path"], "username": claims.get("username")}),
    }
