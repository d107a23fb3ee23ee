"""Apply the scope resets recorded by ``PUT /v2/scope``.

The processing worker calls ``apply_pending_resets`` at the start of each
sweep. Each request is applied under the scope's lock, taken BLOCKING (a
reset must not be skipped because the scope is being rated right now), and
in ONE transaction: claim the request, delete the scope's rated data from
the reset time on, move the scope's state back. A crash leaves either all
of it or none; a concurrent processor finds the request already claimed.

Why a table rather than upstream's RPC cast: the request is durable (a
processor that is down or restarting applies it later, a cast would be
lost), any number of processors on any host can pick it up, and the API
needs no message broker.

Meaning of the reset time T: rating restarts with the period that starts
at T. ``last_processed_timestamp`` is the start of the last RATED period,
so it becomes ``T - period``. (Upstream set it to T after deleting from T,
so the period starting at T was deleted and never rated again.)
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING

from oslo_log import log
from sqlalchemy import exc as sa_exc

from cloudkitty import exceptions
from cloudkitty.db.scope_resets import ResetRequest, ResetRequestRepository
from cloudkitty.orchestrator import locks
from cloudkitty.storage.state import ScopeIdentity

if TYPE_CHECKING:
    from cloudkitty.orchestrator.worker import WorkerDeps

LOG = log.getLogger(__name__)

#: Longest wait for a scope lock; past it the request stays pending and the
#: next sweep tries again (a worker never blocks forever on a stuck lock).
LOCK_TIMEOUT = 600.0


def request_identity(deps: WorkerDeps, request: ResetRequest) -> ScopeIdentity:
    """The state row the request targets; NULL columns (legacy rows) take
    this processor's configured names, as the processing worker does."""
    defaults = deps.scope_defaults
    return ScopeIdentity(
        request.scope_id,
        request.scope_key or defaults.scope_key,
        request.fetcher or defaults.fetcher,
        request.collector or defaults.collector,
    )


def _lock_name(deps: WorkerDeps, scope_id: str) -> bytes:
    # The name the processing worker locks the scope under, so rating and
    # resetting the same scope exclude each other.
    identity = deps.scope_defaults.identity(scope_id)
    return locks.lock_name(
        identity.scope_id, identity.collector, identity.fetcher, identity.scope_key
    )


def apply_reset(
    deps: WorkerDeps,
    repository: ResetRequestRepository,
    request: ResetRequest,
    lock_timeout: float = LOCK_TIMEOUT,
) -> bool:
    """Apply one request; False when another processor already did.

    Raises TimeoutError when the scope lock could not be taken in time,
    a CloudkittyError or an SQLAlchemy error when the database fails (the
    transaction is rolled back and the request stays pending).
    """
    identity = request_identity(deps, request)
    resume_after = request.reset_timestamp - datetime.timedelta(seconds=deps.period)
    storage = deps.storage
    with deps.locks.hold(_lock_name(deps, request.scope_id), timeout=lock_timeout):
        with deps.states.db.begin() as conn:
            if not repository.claim(conn, request.id, at=deps.clock()):
                return False
            # A storage that cannot join our transaction deletes on its own;
            # if the state update then fails, the request stays pending and
            # the delete is simply redone.
            storage_conn = conn if storage.supports_transactions else None
            deleted = storage.delete(
                request.reset_timestamp,
                None,
                {identity.scope_key: identity.scope_id},
                conn=storage_conn,
            )
            deps.states.set_last_processed_timestamp(identity, resume_after, conn=conn)
    LOG.info(
        "Scope %s reset: %d rated points from %s on deleted, rating resumes there",
        request.scope_id,
        deleted,
        request.reset_timestamp.isoformat(),
    )
    return True


def apply_pending_resets(deps: WorkerDeps, lock_timeout: float = LOCK_TIMEOUT) -> int:
    """Apply every pending reset, oldest first. Returns how many were applied.

    Never raises: a failing reset is logged and retried at the next sweep,
    and must not stop the rating of the other scopes.
    """
    repository = ResetRequestRepository(deps.states.db)
    try:
        pending = repository.pending()
    except (exceptions.CloudkittyError, sa_exc.SQLAlchemyError) as error:
        LOG.error("Cannot read the pending scope resets: %s", error)
        return 0
    applied = 0
    for request in pending:
        try:
            applied += apply_reset(deps, repository, request, lock_timeout)
        except TimeoutError:
            LOG.warning(
                "Scope %s is locked for more than %s s; its reset waits for the next sweep",
                request.scope_id,
                lock_timeout,
            )
        except (exceptions.CloudkittyError, sa_exc.SQLAlchemyError) as error:
            LOG.error("Reset of scope %s failed, retried later: %s", request.scope_id, error)
    return applied
