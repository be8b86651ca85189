"""Users and API tokens over the REST API: ``/api/v1/users`` and ``/api/v1/tokens``.

The same powers as ``gitward user`` and ``gitward token``, through the same
implementation (`gitward.server.admin.Accounts`), for an admin whose scope is
every app (actions ``users`` and ``tokens`` of `gitward.server.auth.ACTIONS`).
An app-scoped admin manages no accounts at all: an account it made could
reach apps outside its scope, so it is refused (403) rather than trusted to
stay inside it. Nobody grants a role above their own.

Every call — lists included, since who looked at the accounts matters — is an
audit event (``user-list``, ``user-add``, ``user-change``, ``token-list``,
``token-create``, ``token-revoke``), and so is every refusal. Answers never
hold a password, a password hash or a token hash; the token itself is in the
answer to ``POST /tokens`` and nowhere else, ever.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeVar, cast

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, ConfigDict, Field

from gitward.core.errors import GitwardError
from gitward.server.admin import (
    DEFAULT_EXPIRY,
    MIN_PASSWORD,
    AccountError,
    Accounts,
    NoSuchAccountError,
    RoleCeilingError,
)
from gitward.server.api import _ERRORS, MAX_ID, ErrorBody, error_status
from gitward.server.auth import ApiError, Principal, Role, audit, require
from gitward.stores.accounts import UserExistsError

if TYPE_CHECKING:
    from gitward.core.seams import AuthStore
    from gitward.server.context import ServerContext

__all__ = ["create_accounts_router"]

_T = TypeVar("_T")

USER_NAME = r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$"
PLAIN_TEXT = r"^[^\x00-\x1f\x7f]*$"  # no control characters in what lists and logs show
EXPIRY = r"^([0-9]{1,6}[mhdw]|never)$"


# -- models ------------------------------------------------------------------------

class UserView(BaseModel):
    name: str
    role: Role
    apps: str = Field(description="Comma-separated app name patterns, e.g. `web-*,db`.")
    disabled: bool
    created_at: float


class UserList(BaseModel):
    users: list[UserView]


class UserAnswer(BaseModel):
    user: UserView


class NewUser(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=USER_NAME, examples=["vera"])
    role: Role
    apps: str = Field("*", min_length=1, max_length=1000, pattern=PLAIN_TEXT,
                      description="App name patterns the user may see and act on.")
    password: str = Field(min_length=MIN_PASSWORD, max_length=1000, json_schema_extra={
        "writeOnly": True})


class UserChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Role | None = None
    apps: str | None = Field(None, min_length=1, max_length=1000, pattern=PLAIN_TEXT)
    password: str | None = Field(None, min_length=MIN_PASSWORD, max_length=1000,
                                 json_schema_extra={"writeOnly": True})
    disabled: bool | None = Field(None, description="A disabled user cannot log in, and "
                                                    "its tokens stop working.")


TokenState = Literal["active", "expired", "revoked"]


class TokenView(BaseModel):
    id: int
    name: str
    user: str | None = Field(None, description="The user the token acts for, if any: it "
                                               "never outranks or outlives that user.")
    role: Role
    apps: str
    created_at: float
    expires_at: float | None = None
    revoked_at: float | None = None
    last_used_at: float | None = None
    state: TokenState


class TokenList(BaseModel):
    tokens: list[TokenView]


class NewToken(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100, pattern=PLAIN_TEXT, examples=["ci"],
                      description="What the token is for.")
    role: Role
    apps: str = Field("*", min_length=1, max_length=1000, pattern=PLAIN_TEXT)
    user: str | None = Field(None, pattern=USER_NAME, description="Tie the token to a user.")
    expires: str = Field(DEFAULT_EXPIRY, pattern=EXPIRY, examples=["30d", "12h", "never"],
                         description="A number and a unit (m, h, d, w), or `never`.")


class CreatedToken(TokenView):
    token: str = Field(examples=["gw_..."], description="The token itself: shown this once, "
                                                        "never stored, never shown again.")


class Revoked(BaseModel):
    id: int
    revoked: Literal[True] = True


_NO_USER: dict[int | str, dict[str, Any]] = {
    **_ERRORS, 404: {"model": ErrorBody, "description": "No user of that name."}}
_TAKEN: dict[int | str, dict[str, Any]] = {
    **_ERRORS, 409: {"model": ErrorBody, "description": "The name is taken."}}
_NO_TOKEN: dict[int | str, dict[str, Any]] = {
    **_ERRORS, 404: {"model": ErrorBody, "description": "No active token of that id."}}

UserAdmin = Annotated[Principal, Depends(require("users"))]
TokenAdmin = Annotated[Principal, Depends(require("tokens"))]


# -- the router ----------------------------------------------------------------------

def create_accounts_router(ctx: ServerContext) -> APIRouter:
    """The account routes (included in `gitward.server.api.create_api_router`)."""
    router = APIRouter(tags=["accounts"])
    store = cast("AuthStore", ctx.store)

    def act(request: Request, principal: Principal, action: str, target: str | None,
            work: Callable[[Accounts], _T]) -> _T:
        """Do `work` as `principal` (each change audited by `Accounts`; a failure here)."""
        def record(done: str, what: str) -> None:
            audit(request, principal.name, done, target=what, via=principal.via)

        try:
            return work(Accounts(store, record, ceiling=principal.role))
        except GitwardError as error:
            audit(request, principal.name, action, target=target, via=principal.via,
                  ok=False, detail=str(error))
            raise _api_error(error) from None

    @router.get("/users", response_model=UserList, responses=_ERRORS)
    def list_users(request: Request, principal: UserAdmin) -> UserList:
        """Every local user (never a password or its hash)."""
        found = act(request, principal, "user-list", None, Accounts.users)
        audit(request, principal.name, "user-list", via=principal.via)
        return UserList(users=[UserView(**user) for user in found])

    @router.post("/users", status_code=201, response_model=UserAnswer, responses=_TAKEN)
    def add_user(body: NewUser, request: Request, principal: UserAdmin) -> UserAnswer:
        """Add a local user (as ``gitward user add`` does)."""
        added = act(request, principal, "user-add", body.name, lambda accounts:
                    accounts.add_user(body.name, body.role.value, body.apps, body.password))
        return UserAnswer(user=UserView(**added))

    @router.patch("/users/{name}", response_model=UserAnswer, responses=_NO_USER)
    def change_user(name: Annotated[str, Path(pattern=USER_NAME)], body: UserChange,
                    request: Request, principal: UserAdmin) -> UserAnswer:
        """Change what is given of a user: role, apps, password, or whether it is disabled."""
        changed = act(request, principal, "user-change", name, lambda accounts:
                      accounts.change_user(name, role=body.role.value if body.role else None,
                                           apps=body.apps, password=body.password,
                                           disabled=body.disabled))
        return UserAnswer(user=UserView(**changed))

    @router.get("/tokens", response_model=TokenList, responses=_ERRORS)
    def list_tokens(request: Request, principal: TokenAdmin) -> TokenList:
        """Every API token with its state (never the token or its hash)."""
        found = act(request, principal, "token-list", None, Accounts.tokens)
        audit(request, principal.name, "token-list", via=principal.via)
        return TokenList(tokens=[TokenView(**token) for token in found])

    @router.post("/tokens", status_code=201, response_model=CreatedToken, responses=_ERRORS)
    def create_token(body: NewToken, request: Request, principal: TokenAdmin) -> CreatedToken:
        """Create an API token; the answer holds it, once (as ``gitward token create``)."""
        created = act(request, principal, "token-create", body.name, lambda accounts:
                      accounts.create_token(body.name, body.role.value, body.apps, body.user,
                                            body.expires))
        return CreatedToken(**created)

    @router.delete("/tokens/{token_id}", response_model=Revoked, responses=_NO_TOKEN)
    def revoke_token(token_id: Annotated[int, Path(ge=1, le=MAX_ID)], request: Request,
                     principal: TokenAdmin) -> Revoked:
        """Revoke a token: it stops working at once."""
        act(request, principal, "token-revoke", str(token_id),
            lambda accounts: accounts.revoke_token(token_id))
        return Revoked(id=token_id)

    return router


def _api_error(error: GitwardError) -> ApiError:
    """The answer to an account error: 404, 409, 403 or 422 naming the body's field."""
    if isinstance(error, NoSuchAccountError):
        return ApiError(404, "not_found", str(error))
    if isinstance(error, UserExistsError):
        return ApiError(409, "conflict", str(error))
    if isinstance(error, RoleCeilingError):
        return ApiError(403, "forbidden", str(error))
    if isinstance(error, AccountError):
        where = f"body.{error.field}: " if error.field else ""
        return ApiError(422, "invalid", f"{where}{error}")
    status, code = error_status(error)
    return ApiError(status, code, str(error))
