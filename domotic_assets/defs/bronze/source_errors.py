"""How Bronze assets react when a source fails: refusals stop at once, outages are retried."""

from contextlib import contextmanager
from typing import Iterator

import dagster as dg

from domotic_assets.ingest.landing import SourceRefused, SourceUnavailable

RETRIES = 4
FIRST_WAIT_SECONDS = 15
"""A source down beyond the transport's own patience is tried again after 15, 30, 60 and 120 s."""


@contextmanager
def source_guard(context: dg.AssetExecutionContext) -> Iterator[None]:
    """Bad credentials, an unknown host key or a wrong location fail the run once, with the
    source named and no retry (a retry storm would lock accounts and hide the cause); a source
    that is down or dropped mid-transfer asks Dagster to retry the step with back-off."""
    try:
        yield
    except SourceRefused as exc:
        raise dg.Failure(description=f"{exc} (not retried: fix the location, credentials or pinned key)",
                         allow_retries=False) from None
    except SourceUnavailable as exc:
        wait = FIRST_WAIT_SECONDS * 2 ** context.retry_number
        context.log.warning(f"{exc}; the step is retried in {wait} s")
        raise dg.RetryRequested(max_retries=RETRIES, seconds_to_wait=wait) from exc
