"""Owners and groups on a host: names to ids for writing, ids to names for reading.

A manifest names an owner or group by name or by number (``owner: www-data``,
``group: 33``); `owner_ids` turns that into the ids ``chown`` takes, and
`give_owner` says plainly when the process may not give a file away. Reading
goes the other way: `OwnerNames` shows a live file's uid and gid the way the
manifest wrote them, caching each name it finds.
"""

from __future__ import annotations

import grp
import pwd
from collections.abc import Callable

from gitward.providers.errors import OwnerNotPermittedError, UnknownOwnerError

__all__ = ["Owner", "OwnerNames", "give_owner", "owner_ids"]

Owner = int | str | None  # a name, a numeric id, or None for "leave as is"


def owner_ids(uid: Owner, gid: Owner, where: str) -> tuple[int, int] | None:
    """The numeric (uid, gid) to set on `where` (-1 leaves one as is); None for neither."""
    if uid is None and gid is None:
        return None
    return (_resolve(uid, pwd.getpwnam, "owner", "user", where),
            _resolve(gid, grp.getgrnam, "group", "group", where))


def give_owner(where: str, uid: Owner, gid: Owner, change_owner: Callable[[], None]) -> None:
    """Run `change_owner`; a refusal becomes `OwnerNotPermittedError` saying what to do."""
    try:
        change_owner()
    except PermissionError:
        if uid is not None:
            raise OwnerNotPermittedError(
                f"cannot set owner of {where} to {uid}: run gitward as root "
                "or drop owner") from None
        raise OwnerNotPermittedError(
            f"cannot set group of {where} to {gid}: run gitward as root, "
            "join that group, or drop group") from None


class OwnerNames:
    """User and group names by id. Names found are cached; a miss is not, so a
    user created later shows up by name."""

    def __init__(self) -> None:
        self._users: dict[int, str] = {}
        self._groups: dict[int, str] = {}

    def user(self, uid: int) -> str | None:
        return _cached_name(self._users, uid, lambda: pwd.getpwuid(uid).pw_name)

    def group(self, gid: int) -> str | None:
        return _cached_name(self._groups, gid, lambda: grp.getgrgid(gid).gr_name)


def _resolve(owner: Owner, by_name: Callable[[str], pwd.struct_passwd | grp.struct_group],
             field: str, what: str, where: str) -> int:
    """A numeric id for `owner` (-1, "unchanged", for None)."""
    if owner is None:
        return -1
    if isinstance(owner, int) or owner.isdigit():
        return int(owner)
    try:
        entry = by_name(owner)
    except KeyError:
        raise UnknownOwnerError(f"{field} {owner!r} of {where} is not a {what} on the target; "
                                f"create the {what} first or fix {field}") from None
    return entry.pw_uid if isinstance(entry, pwd.struct_passwd) else entry.gr_gid


def _cached_name(cache: dict[int, str], number: int, look_up: Callable[[], str]) -> str | None:
    if number not in cache:
        try:
            cache[number] = look_up()
        except KeyError:
            return None
    return cache[number]
