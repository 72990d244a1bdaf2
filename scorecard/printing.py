"""HTML → PDF with WeasyPrint, offline: the URL fetcher serves the tool's own packaged assets and data:
URIs and refuses everything else, stopping the render. Loaded only where PDFs are drawn (the render
workers), never by `scorecard metrics` nor by the build's own process."""

from __future__ import annotations

import io
import logging
import os
import warnings
from pathlib import Path
from urllib.parse import unquote, urlparse

with warnings.catch_warnings():
    # WeasyPrint warns "No fonts configured" on import; render.check_fonts says it with the package to install.
    warnings.simplefilter("ignore", UserWarning)
    from weasyprint import HTML
from weasyprint.document import Document
from weasyprint.urls import FatalURLFetchingError, URLFetcher, URLFetcherResponse

from .errors import ScorecardError
from .resources import resource_path

# WeasyPrint logs every unsupported CSS nicety; keep the CLI's output for what matters.
logging.getLogger("weasyprint").setLevel(logging.ERROR)
logging.getLogger("fontTools").setLevel(logging.ERROR)


class RefusedURL(FatalURLFetchingError):
    """A template or value pointed at something outside the package: never fetched."""


class PackagedAssetsOnly(URLFetcher):
    """Serves data: URIs and files under the packaged templates folder; refuses anything else."""

    def __init__(self, root: Path):
        super().__init__(fail_on_errors=True)
        self.root = root.resolve()

    def fetch(self, url, headers=None):
        if url.startswith("data:"):
            return super().fetch(url, headers)
        parsed = urlparse(url)
        if parsed.scheme == "file" and not parsed.netloc:
            path = Path(unquote(parsed.path)).resolve()
            if path.is_relative_to(self.root) and path.is_file():
                return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": _content_type(path)})
        raise RefusedURL(f"refused to fetch {url[:80]!r}: reports only use the tool's packaged assets")


def _content_type(path: Path) -> str:
    return {".css": "text/css", ".svg": "image/svg+xml", ".png": "image/png"}.get(path.suffix, "application/octet-stream")


def html_to_pdf(html: str, target: Path | io.BytesIO, templates: Path | None = None) -> Document:
    """Write the PDF and return the laid-out document (its pages and bookmarks); any URL that is not a
    packaged asset stops the render with ScorecardError."""
    root = templates or resource_path("templates")
    # Without libharfbuzz-subset, WeasyPrint subsets fonts with fontTools, which stamps each font with
    # the current time unless SOURCE_DATE_EPOCH is set: fix it, so identical inputs stay identical bytes.
    os.environ.setdefault("SOURCE_DATE_EPOCH", "0")
    try:
        document = HTML(string=html, base_url=root.as_uri() + "/", url_fetcher=PackagedAssetsOnly(root)).render()
        document.write_pdf(target)
    except RefusedURL as refused:
        raise ScorecardError(str(refused)) from None
    return document
