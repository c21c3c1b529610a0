KINDS = {
    "list": ["not", "an", "object"],
    "keys": {"statusCode": 200, "body": "x", "extra": 1},
    "status": {"statusCode": "two hundred", "body": "x"},
    "body": {"statusCode": 200, "body": {"not": "a string"}},
    "string-status": {"statusCode": "201", "body": "fine"},
}
MB = 1024 * 1024


def _sized(size):
    return {"statusCode": 200, "body": "x" * size}


def handler(event, context):
    kind = (event.get("queryStringParameters") or {}).get("kind", "list")
    if kind == "big":  # 5 MB: under Lambda's 6 MB response limit
        return _sized(5 * MB)
    if kind == "huge":  # the answer's JSON is just above 6 MB
        return _sized(6 * MB)
    return KINDS[kind]
