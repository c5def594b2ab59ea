#!/usr/bin/env python3
"""WebSocket echo server on Python `websockets`, the reference peer of the interop tests.

Echoes every text and binary message back unchanged. Once it listens, prints READY and the
port on stdout ("READY 9002"); with --port 0 the system chooses the port, so no other process
can take it first. For each connection it prints the Sec-WebSocket-Extensions header of the
request ("OFFER ...") and of its response ("AGREED ..."), empty when there is none.

    echo_server.py --port 9002 [--compression on] [--server-no-context-takeover]
        [--client-no-context-takeover] [--server-max-window-bits N] [--client-max-window-bits N]
"""

from __future__ import annotations

import argparse
import asyncio

from deflate_args import add_deflate_args, server_extensions
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

MAX_MESSAGE_SIZE = 16 * 1024 * 1024


async def echo(ws: ServerConnection) -> None:
    print("OFFER", ", ".join(ws.request.headers.get_all("Sec-WebSocket-Extensions")), flush=True)
    print("AGREED", ", ".join(ws.response.headers.get_all("Sec-WebSocket-Extensions")), flush=True)
    try:
        async for message in ws:
            await ws.send(message)
    except ConnectionClosed:
        pass


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    add_deflate_args(parser)
    args = parser.parse_args()
    async with serve(
        echo,
        args.host,
        args.port,
        compression=None,  # the extensions below say it all
        extensions=server_extensions(args),
        max_size=MAX_MESSAGE_SIZE,
        ping_interval=None,
    ) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        print(f"READY {port}", flush=True)
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
