"""The floor of the Lambda cold-start benchmark: one module, a constant answer."""


def handler(event, context):  # type: ignore[no-untyped-def]  # no typing import: the floor
    return {"statusCode": 200, "body": '{"status":"ok"}'}
