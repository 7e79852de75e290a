"""Prefect tasks: each is one step function of transforms/, wrapped as it is (no logic here).

`prefect_step` is the step executor the flows hand to `transforms.run.nightly.execute`, so the
sequences of a run (`nightly.nightly`, `nightly.close_month`) are written once, there, and run
the same with or without Prefect.

- Every task has `cache_policy=NONE`: Prefect 3 caches by inputs by default, and a cached
  step would silently skip work.
- Tasks are called directly (never `.submit`): they run one after the other, in this process,
  on the run's one DuckDB connection and transaction.
- Retries only on I/O (reading the inbox, writing and publishing outputs), and only when the
  step failed with an OSError (a network share, a full disk): a wrong input or a bug fails at
  once, and pure steps (validate, reconcile, documents, close figures) never retry. The I/O
  steps are safe to repeat inside the transaction: ingest skips file versions it already
  stored, and the writers overwrite their files in the staging folder.
"""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NONE

from transforms.close import close
from transforms.documents import archive, documents
from transforms.ingest import ingest as ingest_mod
from transforms.reconcile import shards
from transforms.reconcile.reconcile import reconcile_staged, stage as stage_fn
from transforms.reports import reports
from transforms.run import nightly, outputs


def transient_io(task, task_run, state) -> bool:
    """Retry a failed I/O step only when it failed with an OSError."""
    return isinstance(state.result(raise_on_failure=False), OSError)


IO = dict(retries=2, retry_delay_seconds=[2, 10], retry_condition_fn=transient_io, cache_policy=NONE)
PURE = dict(cache_policy=NONE)

ingest = task(ingest_mod.ingest, name="ingest", **IO)
validate = task(nightly.validate_inputs, name="validate", **PURE)
stage = task(stage_fn, name="stage", **PURE)
reconcile = task(reconcile_staged, name="reconcile", **PURE)
issue_documents = task(documents.issue_documents, name="documents", **PURE)
document_views = task(documents.document_views, name="document-views", **PURE)
write_outputs = task(nightly.write_outputs, name="write-outputs", **IO)
write_reports = task(reports.write_reports, name="reports", **IO)
publish = task(outputs.swap, name="publish", **IO)
# safe to retry: a series already put in place is skipped, and no archived file is ever overwritten
archive_documents = task(archive.store, name="archive", **IO)
close_baseline = task(close.prepare_baseline, name="close-baseline", **PURE)
check_pending = task(close.check_pending, name="check-pending", **PURE)
close_period = task(close.close_period, name="close-period", **PURE)
write_close_outputs = task(close.write_close_outputs, name="write-reconciliation", **IO)
reopen = task(close.reopen, name="reopen", **PURE)

TASKS = {t.fn: t for t in (ingest, validate, stage, reconcile, issue_documents, document_views, write_outputs, write_reports,
                           publish, archive_documents, close_baseline, check_pending, close_period, write_close_outputs,
                           reopen)}


#: steps run in the flow itself, not as a task: the sharded reconcile submits its shards as
#: tasks of a Dask sub-flow, and Dask would have to pickle a parent task's context (which holds
#: the run's DuckDB connection) to submit them from inside a task
IN_FLOW = {shards.reconcile_sharded}


def prefect_step(fn, /, *args, **kwargs):
    """Step executor for flows: run `fn` as its Prefect task, directly (sequential, in process)."""
    if fn in IN_FLOW:
        return fn(*args, **kwargs)
    try:
        task_ = TASKS[fn]
    except KeyError:
        raise LookupError(f"step {fn.__module__}.{fn.__qualname__} has no Prefect task in flows/tasks.py") from None
    return task_(*args, **kwargs)
