KINDS = {
    "list": ["not", "an", "object"],
    "keys": {"statusCode": 200, "body": "x", "extra": 1},
    "status": {"statusCode": "two hundred", "body": "x"},
    "body": {"statusCode": 200, "body": {"not": "a string"}},
    "string-status": {"statusCode": "201", "body": "fine"},
    "header-newline": {"statusCode": 200, "headers": {"X-Split": "a\r\nSet-Cookie: x=1"}},
    "header-name": {"statusCode": 200, "headers": {"Bad Name": "v"}},
    "wrong-length": {"statusCode": 200, "headers": {"Content-Length": "1"}, "body": "four"},
    "no-content": {"statusCode": 204, "headers": {"Content-Length": "5"}, "body": "never"},
    "not-modified": {"statusCode": 304, "headers": {"ETag": "e1", "Content-Type": "x/y"}},
    "location": {"statusCode": 302, "headers": {"Location": "/caf\u00e9?q=\u00fc"}},
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
