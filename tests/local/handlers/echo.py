import json


def handler(event, context):
    return {
        "statusCode": 200,
        "headers": {
            "Content-Type": "application/json",
            "X-Remaining": context.get_remaining_time_in_millis() > 0,
        },
        "multiValueHeaders": {"X-Multi": ["a", "b"]},
        "body": json.dumps({"event": event, "function": context.function_name}),
        "isBase64Encoded": False,
    }
