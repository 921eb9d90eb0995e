"""How assets react when a source or the warehouse fails: refusals stop at once, outages are retried.

Every step is safe to run again (Bronze copies are immutable and checked by content, Silver days
are swapped in one transaction, Gold days are deleted and rebuilt in one), so a retry after an
outage can neither lose nor double anything.
"""

from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg
import psycopg

from domotic_assets.ingest.landing import SourceRefused, SourceUnavailable

RETRIES = 4
FIRST_WAIT_SECONDS = 15
"""An outage that outlasts the transport's own patience: the step runs again after 15, 30, 60, 120 s."""


def _retry(context: dg.AssetExecutionContext, what: str, exc: Exception) -> dg.RetryRequested:
    wait = FIRST_WAIT_SECONDS * 2**context.retry_number
    context.log.warning(
        f"{what}: {exc}; the step is retried in {wait} s (retry {context.retry_number + 1} of {RETRIES})"
    )
    return dg.RetryRequested(max_retries=RETRIES, seconds_to_wait=wait)


@contextmanager
def source_guard(context: dg.AssetExecutionContext) -> Iterator[None]:
    """Bad credentials, an unknown host key or a wrong location fail the run once, naming the
    source, with no retry (a retry storm would lock accounts and bury the cause); a source that
    is down or drops mid-transfer asks Dagster to run the step again later."""
    try:
        yield
    except SourceRefused as exc:
        raise dg.Failure(
            description=f"{exc} (not retried: fix the location, credentials or pinned key)",
            allow_retries=False,
        ) from None
    except SourceUnavailable as exc:
        raise _retry(context, "source unavailable", exc) from exc


@contextmanager
def warehouse_guard(context: dg.AssetExecutionContext) -> Iterator[None]:
    """A warehouse that restarts or drops the connection mid-load: the step runs again later."""
    try:
        yield
    except psycopg.OperationalError as exc:
        raise _retry(context, "warehouse connection lost", exc) from exc
