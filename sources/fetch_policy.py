"""HTTP for the ingestors: a descriptive client, conditional requests, retries with backoff, integrity checks."""

from __future__ import annotations

import hashlib
import ipaddress
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from screener import __version__
from screener.errors import ScreenerError

if TYPE_CHECKING:
    import httpx  # imported where a download happens: checking a name needs no HTTP client

USER_AGENT = f"xuar-screener/{__version__} (open-source forced-labour supply-chain screener; list refresh)"
DEFAULT_TIMEOUT = 60.0
RETRIES = 3
BACKOFF_SECONDS = 1.0
MAX_REDIRECTS = 5


class FetchError(ScreenerError):
    """A download failed after its retries; the message says what to do."""


class DownloadRefused(FetchError):
    """The publisher refused the download (HTTP 401, 403 or 429: bot protection or rate limits)."""


@dataclass(frozen=True)
class Fetched:
    """One downloaded resource, or the news that it has not changed (HTTP 304)."""

    url: str
    content: bytes
    etag: str = ""
    last_modified: str = ""
    not_modified: bool = False

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


def make_client(timeout: float = DEFAULT_TIMEOUT, transport: httpx.BaseTransport | None = None) -> httpx.Client:
    """An httpx client with the project's User-Agent, certificate checks on and a timeout (fetch follows redirects)."""
    import httpx

    return httpx.Client(
        headers={"User-Agent": USER_AGENT}, follow_redirects=False, verify=True, timeout=timeout, transport=transport
    )


def site_of(host: str) -> str:
    """The registrable domain of a host: its last two labels, or three under a country's gov.uk-style second level."""
    host = host.lower().rstrip(".")
    try:
        return str(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        labels = host.split(".")
    country_second_level = len(labels) > 2 and len(labels[-1]) == 2 and len(labels[-2]) <= 3
    return ".".join(labels[-3:] if country_second_level else labels[-2:])


def require_https(url: str) -> None:
    """Refuse any address but https:// (downloads are certificate-checked, never in clear text)."""
    if urlparse(url).scheme != "https":
        raise FetchError(
            f"refusing to download {url}: only https:// addresses are fetched (with certificate checks); "
            "give the https address, or save the file and use --from-file"
        )


def require_same_site(origin: str, target: str) -> None:
    """Refuse a redirect or link from `origin` to a non-HTTPS address or to another site (a saved page may link out)."""
    require_https(target)
    if not is_local(origin) and site_of(urlparse(target).hostname or "") != site_of(urlparse(origin).hostname or ""):
        raise FetchError(
            f"refusing to follow {origin} to {target}: it leaves {site_of(urlparse(origin).hostname or '')}; "
            "check the address (--url), or save the file in a browser and use --from-file"
        )


def is_local(location: str) -> bool:
    """True when `location` names a file on disk rather than an http(s) address."""
    return urlparse(location).scheme not in ("http", "https")


def read_local(location: str) -> Fetched:
    """Read a saved copy of a source (a file path or file:// URL)."""
    path = Path(location.removeprefix("file://")).expanduser()
    if not path.is_file():
        raise FetchError(f"{path} is not a file; give a saved copy of the source or an http(s) address")
    return Fetched(url=path.resolve().as_uri(), content=path.read_bytes())


def fetch(
    client: httpx.Client,
    url: str,
    etag: str = "",
    last_modified: str = "",
    retries: int | None = None,
    backoff: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Fetched:
    """GET `url` (conditionally when validators are given), retrying 5xx, timeouts and connection errors."""
    import httpx

    if is_local(url):
        return read_local(url)
    require_https(url)
    retries = RETRIES if retries is None else retries
    backoff = BACKOFF_SECONDS if backoff is None else backoff
    headers = {key: value for key, value in (("If-None-Match", etag), ("If-Modified-Since", last_modified)) if value}
    problem = ""
    for attempt in range(retries + 1):
        if attempt:
            sleep(backoff * 2 ** (attempt - 1))
        try:
            response = _get(client, url, headers)
        except httpx.TimeoutException:
            problem = "timed out"
            continue
        except httpx.ConnectError as error:
            if "CERTIFICATE_VERIFY_FAILED" in str(error):
                raise FetchError(
                    f"download of {url} refused: the server's TLS certificate could not be verified; check the "
                    "address, or save the file in a browser and use --from-file"
                ) from error
            problem = f"connection failed ({type(error).__name__})"
            continue
        except httpx.DecodingError:
            problem = "the compressed body could not be decoded (a damaged download)"
            continue
        except httpx.TransportError as error:
            problem = f"connection failed ({type(error).__name__})"
            continue
        if response.status_code >= 500:
            problem = f"server error HTTP {response.status_code}"
            continue
        if _truncated(response):
            problem = f"the body was truncated ({len(response.content)} of {response.headers['Content-Length']} bytes)"
            continue
        return _accept(url, response)
    raise FetchError(f"download of {url} failed after {retries + 1} attempts: {problem}; check the network and retry later")


def _get(client: httpx.Client, url: str, headers: dict[str, str]) -> httpx.Response:
    """GET `url`, following up to MAX_REDIRECTS redirects that stay on HTTPS within the same site."""
    response = client.get(url, headers=headers, follow_redirects=False)
    for _ in range(MAX_REDIRECTS):
        if response.next_request is None:
            return response
        require_same_site(url, str(response.next_request.url))
        response = client.send(response.next_request, follow_redirects=False)
    if response.next_request is not None:
        raise FetchError(f"download of {url} refused: more than {MAX_REDIRECTS} redirects; check the address (--url)")
    return response


def _truncated(response: httpx.Response) -> bool:
    """True when the body is shorter than the declared Content-Length (uncompressed responses only)."""
    expected = response.headers.get("Content-Length", "")
    encoded = response.headers.get("Content-Encoding", "identity") != "identity"
    return expected.isdigit() and not encoded and int(expected) != len(response.content)


def _accept(url: str, response: httpx.Response) -> Fetched:
    """Turn a final response into a Fetched, refusing client errors."""
    etag = response.headers.get("ETag", "")
    last_modified = response.headers.get("Last-Modified", "")
    if response.status_code == 304:
        return Fetched(url=str(response.url), content=b"", etag=etag, last_modified=last_modified, not_modified=True)
    if response.status_code in (401, 403, 429):
        raise DownloadRefused(
            f"download of {url} refused: HTTP {response.status_code}; the publisher blocks automated downloads, "
            "so save the page or file in a browser and ingest it with --from-file"
        )
    if response.status_code >= 400:
        raise FetchError(f"download of {url} refused: HTTP {response.status_code}; check the address (--url)")
    return Fetched(url=str(response.url), content=response.content, etag=etag, last_modified=last_modified)
