"""The answers API Gateway gives itself, not the function: status, message and error type
(`x-amzn-ErrorType`), and why, for the server's `-v` line. `response_mapping` shapes them with the
API's gateway responses.
"""

from __future__ import annotations


class GatewayError(Exception):
    """An answer API Gateway itself gives (not the function)."""

    def __init__(
        self, status: int, message: str, error_type: str | None = None, why: str = ""
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.error_type = error_type
        self.why = why


def missing_token() -> GatewayError:
    return GatewayError(403, "Missing Authentication Token", "MissingAuthenticationTokenException")


def unauthorized(why: str) -> GatewayError:
    return GatewayError(401, "Unauthorized", "UnauthorizedException", why)


def internal(why: str) -> GatewayError:
    return GatewayError(500, "Internal server error", "InternalServerErrorException", why)


def bad_gateway(why: str) -> GatewayError:
    return GatewayError(502, "Internal server error", None, why)


def too_long(why: str) -> GatewayError:
    return GatewayError(413, "Request Too Long", None, why)
