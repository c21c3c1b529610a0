KINDS = {
    "list": ["not", "an", "object"],
    "keys": {"statusCode": 200, "body": "x", "extra": 1},
    "status": {"statusCode": "two hundred", "body": "x"},
    "body": {"statusCode": 200, "body": {"not": "a string"}},
    "string-status": {"statusCode": "201", "body": "fine"},
}


def handler(event, context):
    kind = (event.get("queryStringParameters") or {}).get("kind", "list")
    return KINDS[kind]
