"""Local functions with the AWS Lambda handler contract, run in warm worker processes; the Lambda API subset.

``FunctionService`` (service.py) is the one object the API, the rules engine and 1-Click call.
"""

from corral.functions.service import FunctionService, InvokeResult

__all__ = ["FunctionService", "InvokeResult"]
