"""A real syft-event app for the SyftBox transport tests.

Serves `ping` and `add` for one identity over a datasites folder, the way a SyftBox app
does: it reads request files the proxy writes and writes response files next to them.
Run as: python pingpong_app.py <data_dir> <email> <app_name>
"""
from __future__ import annotations

import sys
from pathlib import Path

from syft_core import Client, SyftClientConfig
from syft_event import SyftEvents


def main() -> None:
    data_dir, email, app_name = sys.argv[1], sys.argv[2], sys.argv[3]
    config_path = Path(data_dir) / f".{email}.config.json"
    client = Client(SyftClientConfig(email=email, data_dir=data_dir, path=config_path,
                                     server_url="http://127.0.0.1:9"))
    box = SyftEvents(app_name, client=client)

    @box.on_request("/ping")
    def ping(body: dict) -> str:
        # A str result is written as raw text, not JSON: the proxy must hand back "pong".
        return "pong"

    @box.on_request("/add")
    def add(body: dict) -> dict:
        # A non-numeric operand raises here: the app answers 500, as a handler error does.
        return {"sum": body["a"] + body["b"]}

    # run_forever() starts the app: it publishes rpc/rpc.schema.json, answers requests already
    # waiting, then watches for new ones.
    try:
        box.run_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
