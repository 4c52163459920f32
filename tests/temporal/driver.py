"""Workflows written with the official Temporal Python SDK (a client we did not
write), driving `connector-host worker` the way a workflow author would.

Usage:
    driver.py PLAN.json

PLAN.json:
    {"address": "127.0.0.1:7233", "namespace": "default",
     "workflows": [{"id": "wf-1", "task_queue": "constant-contact.demo-client",
                    "steps": [STEP, ...]}, ...]}

STEP (one activity, or a paging loop over a list activity):
    {"activity": "acme.create-contact", "input": {...},
     "start_to_close_ms": 30000, "heartbeat_timeout_ms": 2000,
     "retry": {"maximum_attempts": 3, "initial_interval_ms": 200,
               "non_retryable_error_types": [...]},
     "pages": false, "cancel_after_ms": null, "stop_on_error": true}

A string "$N.path.to.field" anywhere in an input is replaced by that field of
step N's result (e.g. "$0.list_id"). With "pages": true the step calls the
activity again with {"cursor": next_cursor} until no cursor comes back and
returns every page.

Prints one JSON object: for each workflow its step results ({"ok": ...} or
{"error": {"type", "message", "non_retryable", "details", "retry_state"}}),
how long it took, and the activity attempts its history records.
"""

import asyncio
import json
import os
import sys
import time
from datetime import timedelta

from temporalio import workflow
from temporalio.client import Client
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, CancelledError
from temporalio.worker import Worker

# Where this driver's own workflows run (never the connector's queues).
DRIVER_QUEUE = "connector-tests-driver"


def substituted(value, results):
    """`value` with every "$N.field" string replaced from step N's result."""
    if isinstance(value, dict):
        return {k: substituted(v, results) for k, v in value.items()}
    if isinstance(value, list):
        return [substituted(v, results) for v in value]
    if isinstance(value, str) and value.startswith("$") and "." in value:
        index, *path = value[1:].split(".")
        found = results[int(index)]["ok"]
        for key in path:
            found = found[int(key)] if isinstance(found, list) else found[key]
        return found
    return value


def failure_of(error):
    """What a workflow sees of an activity's failure, as data."""
    cause = error.cause if isinstance(error, ActivityError) else error
    report = {"message": str(cause), "retry_state": None, "type": type(cause).__name__}
    if isinstance(error, ActivityError):
        report["retry_state"] = error.retry_state.name if error.retry_state else None
    if isinstance(cause, ApplicationError):
        report.update(type=cause.type, message=cause.message,
                      non_retryable=cause.non_retryable, details=list(cause.details))
    elif isinstance(cause, CancelledError):
        report["type"] = "cancelled"
    return report


@workflow.defn(name="Steps")
class Steps:
    @workflow.run
    async def run(self, plan: dict) -> list:
        results = []
        for step in plan["steps"]:
            try:
                if step.get("pages"):
                    result = await self.pages(plan, step, results)
                else:
                    result = await self.call(plan, step, substituted(step.get("input", {}), results))
                results.append({"ok": result})
            except (ActivityError, CancelledError) as error:
                results.append({"error": failure_of(error)})
                if step.get("stop_on_error", True):
                    break
        return results

    async def pages(self, plan, step, results):
        pages, cursor = [], None
        while True:
            input = dict(substituted(step.get("input", {}), results))
            if cursor is not None:
                input["cursor"] = cursor
            page = await self.call(plan, step, input)
            pages.append(page)
            cursor = page.get("next_cursor")
            if not cursor:
                return pages

    async def call(self, plan, step, input):
        retry = step.get("retry", {})
        handle = workflow.start_activity(
            step["activity"],
            input,
            task_queue=step.get("task_queue", plan["task_queue"]),
            start_to_close_timeout=timedelta(milliseconds=step.get("start_to_close_ms", 30000)),
            heartbeat_timeout=(timedelta(milliseconds=step["heartbeat_timeout_ms"])
                               if step.get("heartbeat_timeout_ms") else None),
            retry_policy=RetryPolicy(
                initial_interval=timedelta(milliseconds=retry.get("initial_interval_ms", 200)),
                backoff_coefficient=retry.get("backoff_coefficient", 2.0),
                maximum_attempts=retry.get("maximum_attempts", 0),
                non_retryable_error_types=retry.get("non_retryable_error_types"),
            ),
            cancellation_type=workflow.ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
        )
        if step.get("cancel_after_ms") is not None:
            await workflow.sleep(timedelta(milliseconds=step["cancel_after_ms"]))
            handle.cancel()
        return await handle


async def attempts(handle):
    """Every activity attempt the history records: type, attempt, outcome."""
    history = await handle.fetch_history()
    scheduled, found = {}, []
    outcomes = {
        "activity_task_completed_event_attributes": "completed",
        "activity_task_failed_event_attributes": "failed",
        "activity_task_timed_out_event_attributes": "timed_out",
        "activity_task_canceled_event_attributes": "canceled",
    }
    for event in history.events:
        if event.HasField("activity_task_scheduled_event_attributes"):
            scheduled[event.event_id] = event.activity_task_scheduled_event_attributes.activity_type.name
        elif event.HasField("activity_task_started_event_attributes"):
            started = event.activity_task_started_event_attributes
            found.append({"activity": scheduled.get(started.scheduled_event_id),
                          "attempt": started.attempt, "event_id": event.event_id})
        for field, outcome in outcomes.items():
            if event.HasField(field):
                started_id = getattr(event, field).started_event_id
                for entry in found:
                    if entry["event_id"] == started_id:
                        entry["outcome"] = outcome
    return found


async def run_one(client, plan, spec):
    begun = time.monotonic()
    handle = await client.start_workflow(
        Steps.run, {**plan, **spec}, id=spec["id"], task_queue=DRIVER_QUEUE,
        execution_timeout=timedelta(seconds=plan.get("workflow_timeout_s", 300)))
    results = await handle.result()
    return {"id": spec["id"], "results": results,
            "duration_ms": round((time.monotonic() - begun) * 1000),
            "finished_ms": round((time.monotonic() - plan["_t0"]) * 1000),
            "attempts": await attempts(handle)}


async def main(plan):
    client = await Client.connect(plan["address"], namespace=plan.get("namespace", "default"))
    plan["_t0"] = time.monotonic()
    async with Worker(client, task_queue=DRIVER_QUEUE, workflows=[Steps],
                      max_concurrent_workflow_tasks=50):
        runs = [run_one(client, plan, spec) for spec in plan["workflows"]]
        report = {"workflows": await asyncio.gather(*runs)}
    print(json.dumps(report), flush=True)


if __name__ == "__main__":
    with open(sys.argv[1]) as f:
        asyncio.run(main(json.load(f)))
    sys.stdout.flush()
    # temporalio sometimes aborts at interpreter exit after all work is done.
    os._exit(0)
