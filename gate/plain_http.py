"""HTTP to hosts that are not DocketQA (media, deploy targets): a session that never carries a credential."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import requests


def credential_free_session(purpose: str, **headers: str) -> requests.Session:
    """A session with no API key, no kept cookies and no ``~/.netrc`` credentials (not after a redirect either);
    proxies and CA bundles still come from the environment. ``purpose`` goes into the User-Agent."""
    import http.cookiejar

    import requests

    from gate import PROG, __version__

    class _CredentialFree(requests.Session):
        def rebuild_auth(self, prepared_request: Any, response: Any) -> None:
            # requests would add ~/.netrc credentials for the host a redirect leads to: a secret we never send.
            prepared_request.headers.pop("Authorization", None)

    session = _CredentialFree()
    session.headers.clear()
    session.headers.update({"User-Agent": f"{PROG}/{__version__} ({purpose})", "Accept": "*/*", **headers})
    # With any auth set, requests skips its ~/.netrc lookup, which could hand credentials to another host.
    session.auth = no_auth
    session.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
    return session


def no_auth(request: Any) -> Any:
    """An explicit "no credentials": requests then looks up no ``~/.netrc`` entry, and any Authorization goes."""
    request.headers.pop("Authorization", None)
    return request
