"""cardline's own charge function, as deployed: the Lambda entry point."""

from cardline.cde.http.lambda_charge import handler

__all__ = ["handler"]
