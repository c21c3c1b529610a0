def handler(event, context):
    print("about to fail")
    raise RuntimeError("boom")
