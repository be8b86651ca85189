"""Repository URLs: which ones gitward accepts, and how they are shown.

A source URL is the first thing an operator types, and the one place a secret
(``https://user:token@host/...``) can slip into a log line. `parse_repo_url`
checks it once, when a `GitSource` is made, and returns a `RepoUrl` that keeps
the URL git is given apart from the one people see:

- local paths (relative or absolute) become absolute paths;
- ``file://``, ``http://``, ``https://``, ``ssh://`` and scp-like
  ``user@host:path`` are kept as written;
- anything else (``ext::``, ``fd::``, ``git://``, ``ftp://``...) is refused,
  since some of those run commands or travel unauthenticated.

``RepoUrl.display`` has its credentials replaced by ``***`` and
``RepoUrl.redact`` scrubs them from any text git printed, so error messages can
quote git without leaking the token.

>>> parse_repo_url("https://bot:s3cret@git.example/ops.git").display
'https://bot:***@git.example/ops.git'
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from gitward.sources.errors import UnsupportedUrlError

__all__ = ["ALLOWED_SCHEMES", "RepoUrl", "parse_repo_url", "redact_url_credentials"]

ALLOWED_SCHEMES = ("file", "http", "https", "ssh")
_ALLOWED_HINT = "use https://, ssh://, user@host:path, file:// or a local path"

# Git's "<transport>::<address>" syntax (ext::, fd::, remote helpers): the
# prefix is made of URL-scheme characters only.
_TRANSPORT_PREFIX = re.compile(r"^([A-Za-z0-9+.-]+)::")
_SCHEME_PREFIX = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
# Userinfo inside any URL in free text; greedy up to the last "@" before the
# host so that a password containing "@" is covered whole.
_USERINFO_IN_TEXT = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^/\s'\"]*)@")
_SECRET_MASK = "***"
_MIN_LITERAL_SECRET = 4  # shorter secrets are only masked inside URLs, not as loose text


def redact_url_credentials(text: str) -> str:
    """Mask passwords (and bare http(s) usernames, often tokens) in URLs within `text`.

    >>> redact_url_credentials("fatal: https://ghp_abc@github.com/o/r.git failed")
    'fatal: https://***@github.com/o/r.git failed'
    """
    return _USERINFO_IN_TEXT.sub(_mask_userinfo, text)


def _mask_userinfo(match: re.Match[str]) -> str:
    scheme, userinfo = match.group("scheme"), match.group("userinfo")
    user, has_password, _ = userinfo.partition(":")
    if has_password:
        return f"{scheme}{user}:{_SECRET_MASK}@"
    if scheme.lower().startswith("http"):
        return f"{scheme}{_SECRET_MASK}@"  # a lone http user name is usually a token
    return match.group(0)  # ssh://git@host: the user name is not a secret


@dataclass(frozen=True, slots=True)
class RepoUrl:
    """A checked repository URL: what git is given and what people see."""

    for_git: str
    display: str
    secrets: tuple[str, ...] = ()
    is_path: bool = False            # a local path (not a URL): git may clone it with hard links

    def redact(self, text: str) -> str:
        """`text` with this URL's credentials masked, wherever git echoed them."""
        cleaned = redact_url_credentials(text)
        for secret in self.secrets:
            cleaned = cleaned.replace(secret, _SECRET_MASK)
        return cleaned

    @property
    def mirror_name(self) -> str:
        """Directory name of this repository's bare mirror: readable, then unique.

        The hash is taken over the redacted URL so that rotating a token keeps
        the same mirror (and the token never becomes part of a path).
        """
        last = re.split(r"[/:]", self.display.rstrip("/"))[-1]
        last = last.removesuffix(".git")
        readable = re.sub(r"[^A-Za-z0-9._-]+", "-", last).strip(".-")[:40] or "repo"
        digest = hashlib.sha256(self.display.encode()).hexdigest()[:12]
        return f"{readable}-{digest}.git"


def parse_repo_url(url: str) -> RepoUrl:
    """Check `url` against the allow-list and normalise local paths to absolute.

    Raises `UnsupportedUrlError` naming the (redacted) URL and what to write instead.
    """
    text = url.strip()
    shown = redact_url_credentials(text)
    if not text or any(char in text for char in "\0\r\n"):
        raise UnsupportedUrlError(f"repository URL {shown!r} is empty or has control "
                                  f"characters; {_ALLOWED_HINT}")
    transport = _TRANSPORT_PREFIX.match(text)
    if transport:
        raise UnsupportedUrlError(f"repository URL {shown!r} uses the {transport.group(1)}:: "
                                  f"transport, which gitward refuses; {_ALLOWED_HINT}")
    if _SCHEME_PREFIX.match(text):
        return _parse_scheme_url(text, shown)
    if _is_scp_like(text):
        return _parse_scp_like(text, shown)
    path = os.path.abspath(os.path.expanduser(text))
    return RepoUrl(for_git=path, display=path, is_path=True)


def _parse_scheme_url(text: str, shown: str) -> RepoUrl:
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        raise UnsupportedUrlError(f"repository URL {shown!r} has scheme {scheme}://, which "
                                  f"gitward refuses; {_ALLOWED_HINT}")
    if scheme != "file":
        _check_host(parts.hostname or "", shown)
    return RepoUrl(for_git=text, display=shown, secrets=_secrets_of(parts.username,
                                                                   parts.password, scheme))


def _secrets_of(username: str | None, password: str | None, scheme: str) -> tuple[str, ...]:
    # Git may echo a credential raw or percent-decoded, so both forms are masked.
    raw = [password] if password else []
    if username and not password and scheme.startswith("http"):
        raw.append(username)
    forms = {form for secret in raw for form in (secret, unquote(secret))}
    return tuple(sorted(form for form in forms if len(form) >= _MIN_LITERAL_SECRET))


def _is_scp_like(text: str) -> bool:
    # Git's own rule: a colon with no slash before it means [user@]host:path.
    colon, slash = text.find(":"), text.find("/")
    return colon > 0 and (slash == -1 or colon < slash)


def _parse_scp_like(text: str, shown: str) -> RepoUrl:
    host = text.split(":", 1)[0].rpartition("@")[2].strip("[]")
    _check_host(host, shown)
    return RepoUrl(for_git=text, display=shown)


def _check_host(host: str, shown: str) -> None:
    # A host starting with "-" would reach ssh as an option (-oProxyCommand=...).
    if not host or host.startswith("-"):
        raise UnsupportedUrlError(f"repository URL {shown!r} has no valid host name; "
                                  f"{_ALLOWED_HINT}")
