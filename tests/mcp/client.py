"""An MCP client we did not write (the official Python SDK), driving
`connector-host mcp` over stdio or `serve`'s `/mcp` over Streamable HTTP.

Usage:
    client.py PLAN.json stdio COMMAND ARG...
    client.py PLAN.json http URL TOKEN

PLAN.json: {"mode": "auto" | "legacy", "calls": [{"tool": name, "arguments": {...}}, ...]}

Prints one JSON object: the protocol version, every tool (with any schema
problem found by the JSON Schema 2020-12 meta-schema), and for each call
whether it was an error, its text, its structured content, whether that
validates against the tool's output schema, and the progress seen.
"""

import asyncio
import json
import sys

import jsonschema
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import create_mcp_http_client, streamable_http_client


def schema_problems(schema):
    if schema is None:
        return None
    try:
        jsonschema.Draft202012Validator.check_schema(schema)
        return None
    except jsonschema.SchemaError as error:
        return str(error).splitlines()[0]


def output_valid(schema, value):
    if schema is None or value is None:
        return None
    try:
        jsonschema.Draft202012Validator(schema).validate(value)
        return True
    except jsonschema.ValidationError as error:
        return str(error).splitlines()[0]


async def run(plan, server):
    report = {"tools": [], "calls": []}
    async with Client(server, mode=plan.get("mode", "auto")) as client:
        report["protocol"] = str(client.protocol_version)
        # Every page: a large catalogue comes in several (`nextCursor`).
        listed, cursor, pages = [], None, 0
        while True:
            page = await client.list_tools(cursor=cursor)
            listed.extend(page.tools)
            pages += 1
            cursor = page.next_cursor
            if not cursor:
                break
        report["pages"] = pages
        try:
            await client.list_tools(cursor="not-a-cursor")
            report["bad_cursor"] = "accepted"
        except Exception as error:  # the SDK raises the server's JSON-RPC error
            report["bad_cursor"] = str(error)
        schemas = {}
        for tool in listed:
            annotations = tool.annotations.model_dump(by_alias=True, exclude_none=True) if tool.annotations else None
            schemas[tool.name] = tool.output_schema
            report["tools"].append({
                "name": tool.name,
                "title": tool.title,
                "description": tool.description,
                "annotations": annotations,
                "input_schema_problem": schema_problems(tool.input_schema),
                "output_schema_problem": schema_problems(tool.output_schema),
                "has_output_schema": tool.output_schema is not None,
                "input_type": tool.input_schema.get("type"),
            })
        for call in plan.get("calls", []):
            progress = []

            async def on_progress(value, total, message):
                progress.append([value, total, message])

            result = await client.call_tool(call["tool"], call.get("arguments", {}), progress_callback=on_progress)
            text = "\n".join(block.text for block in result.content if getattr(block, "type", "") == "text")
            report["calls"].append({
                "tool": call["tool"],
                "is_error": bool(result.is_error),
                "text": text,
                "structured": result.structured_content,
                "output_valid": output_valid(schemas.get(call["tool"]), result.structured_content),
                "progress": progress,
            })
    return report


def main():
    plan = json.load(open(sys.argv[1]))
    if sys.argv[2] == "stdio":
        server = StdioServerParameters(command=sys.argv[3], args=sys.argv[4:])
    else:
        http = create_mcp_http_client(headers={"Authorization": f"Bearer {sys.argv[4]}"})
        server = streamable_http_client(sys.argv[3], http_client=http)
    print(json.dumps(asyncio.run(run(plan, server))))


if __name__ == "__main__":
    main()
