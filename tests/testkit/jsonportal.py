"""Test-only access to a :class:`backend.jsonportal.JsonPortal`: wait for a job without polling."""

from __future__ import annotations

from backend.jsonportal import JsonPortal

__all__ = ["wait_for_job"]


def wait_for_job(portal: JsonPortal, job_id: int, timeout: float | None = None) -> bool:
    """Block until the job has been stored or failed (or ``timeout`` s); whether it has."""
    with portal._lock:
        job = portal._jobs.get(job_id)
    return job is not None and job.ended.wait(timeout)
