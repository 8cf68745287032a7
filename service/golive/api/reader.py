"""Access to the read API: the Bearer token GOLIVE_API_READ_TOKEN (or the write token)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, HTTPException
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from golive.api.ingestion import token_matches

# Module level: FastAPI resolves the string annotations of the dependency from here.
read_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="readToken",
    description="GOLIVE_API_READ_TOKEN (GOLIVE_API_TOKEN is taken too)",
)


def read_access(tokens: tuple[str, ...]) -> Callable[..., None]:
    """A dependency refusing, with 401, a request without one of `tokens` as Bearer."""

    def authorised(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(read_bearer)],
    ) -> None:
        if not token_matches(credentials, tokens):
            raise HTTPException(
                401,
                "missing or wrong token: send 'Authorization: Bearer <GOLIVE_API_READ_TOKEN>'",
                headers={"WWW-Authenticate": 'Bearer realm="golive"'},
            )

    return authorised
