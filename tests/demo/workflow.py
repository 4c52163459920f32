"""A workflow as a workflow author writes it, calling `connector-host worker`'s
activities by name with the official Temporal Python SDK: create a contact
list, create two contacts on it, then page through the list's contacts.

Usage: workflow.py TEMPORAL_ADDRESS TASK_QUEUE CONNECTION
(`make worker` runs it; the README's "Beyond one machine" explains it.)
"""

import asyncio
import json
import os
import sys
import uuid
from datetime import timedelta

from temporalio import workflow
from temporalio.client import Client
from temporalio.common import RetryPolicy
from temporalio.worker import Worker

# Failures the worker marks non-retryable are never retried whatever the
# policy says; this policy only bounds the retries of the others (a 5xx or a
# dropped connection of a retry-safe activity, a 429 after its pause).
RETRIES = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_attempts=5)


@workflow.defn
class NewsletterSignup:
    @workflow.run
    async def run(self, args: dict) -> dict:
        connection, queue = args["connection"], args["task_queue"]

        async def call(activity: str, input: dict) -> dict:
            return await workflow.execute_activity(
                f"{connection}.{activity}",  # e.g. acme.create-contact
                input,  # one JSON argument: the activity's input
                task_queue=queue,  # the application's queue: its rate limit holds there
                start_to_close_timeout=timedelta(seconds=30),
                heartbeat_timeout=timedelta(seconds=10),  # a dead worker is noticed in 10 s
                retry_policy=RETRIES,
            )

        contact_list = await call("create-contact-list", {"name": args["list_name"]})
        created = []
        for name in args["names"]:
            contact = await call("create-contact", {
                "email_address": {"address": f"{name}@example.com", "permission_to_send": "implicit"},
                "first_name": name.capitalize(),
                "create_source": "account",
                "list_memberships": [contact_list["list_id"]],
            })
            created.append(contact["contact_id"])
        # Paging is a loop in the workflow: one activity per page, so each
        # page is retried on its own and the history shows every one.
        contacts, cursor, pages = [], None, 0
        while True:
            query = {"lists": [contact_list["list_id"]], "limit": 1}
            if cursor:
                query["cursor"] = cursor
            page = await call("list-contacts", query)
            contacts += [c["email_address"]["address"] for c in page["contacts"]]
            pages += 1
            cursor = page.get("next_cursor")
            if not cursor:
                break
        return {"list": contact_list["name"], "list_id": contact_list["list_id"],
                "created_contacts": created, "contacts_on_list": contacts, "pages": pages}


async def main(address: str, queue: str, connection: str) -> None:
    client = await Client.connect(address)
    run_id = uuid.uuid4().hex[:8]
    async with Worker(client, task_queue="demo-workflows", workflows=[NewsletterSignup]):
        result = await client.execute_workflow(
            NewsletterSignup.run,
            {"connection": connection, "task_queue": queue, "names": ["ada", "grace"],
             "list_name": f"Newsletter {run_id}"},
            id=f"newsletter-{run_id}",
            task_queue="demo-workflows",
        )
        print(json.dumps(result, indent=2), flush=True)


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
    sys.stdout.flush()
    # temporalio sometimes aborts at interpreter exit after all work is done.
    os._exit(0)
