"""App B in Python over a WebSocket: serves a calculator for one identity.

    pip install websockets
    python app.py --url http://localhost:8000 --identity bob@example.com [--api-key KEY]

The proxy sends each request as a text frame holding an inbox item; the app answers each
with {"id": ..., "result": ...} or {"id": ..., "error": "..."}. At most --concurrency items
are unanswered at once, and each one runs as its own task. A frame the proxy could not take
comes back as {"id", "status", "detail"} and is printed. When the socket closes the app
connects again; the proxy gives the items it held to the next socket.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import sys
from urllib.parse import quote

import websockets


def add(params: dict) -> float:
    return float(params["a"]) + float(params["b"])


def multiply(params: dict) -> float:
    return float(params["a"]) * float(params["b"])


FUNCTIONS = {"add": add, "multiply": multiply}


def answer(item: dict) -> dict:
    function = FUNCTIONS.get(item["func_name"])
    if function is None:
        return {"id": item["id"], "error": f"calculator has no function '{item['func_name']}'"}
    try:
        return {"id": item["id"], "result": function(item["params"])}
    except (KeyError, TypeError, ValueError) as error:
        return {"id": item["id"], "error": f"bad params: {error}"}


async def serve_socket(url: str, headers: dict) -> None:
    async with websockets.connect(url, additional_headers=headers, max_size=2**24) as socket:
        print(f"connected to {url}", flush=True)
        tasks = set()
        async for text in socket:
            frame = json.loads(text)
            if "func_name" in frame:
                async def run(item: dict) -> None:
                    await socket.send(json.dumps(answer(item)))
                task = asyncio.create_task(run(frame))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            else:
                print(f"proxy refused a frame: {frame}", file=sys.stderr, flush=True)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://localhost:8000")
    parser.add_argument("--identity", default="bob@example.com")
    parser.add_argument("--app", default="calculator")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--api-key")
    args = parser.parse_args()
    base = args.url.replace("https://", "wss://", 1).replace("http://", "ws://", 1)
    url = f"{base}/rpc/connect/{quote(args.app)}?destination={quote(args.identity)}&concurrency={args.concurrency}"
    headers = {"X-API-Key": args.api_key} if args.api_key else {}
    while True:
        try:
            await serve_socket(url, headers)
        except websockets.InvalidStatus as refused:
            # 401/403/422 will not change by trying again.
            print(f"upgrade refused: HTTP {refused.response.status_code} {refused.response.body.decode(errors='replace')}", file=sys.stderr)
            raise SystemExit(1)
        except (OSError, websockets.ConnectionClosed) as error:
            print(f"socket ended ({error}); connecting again in 1 s", file=sys.stderr, flush=True)
        await asyncio.sleep(1)


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
