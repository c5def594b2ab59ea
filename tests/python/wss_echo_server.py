#!/usr/bin/env python3
"""wss:// echo server on Python `websockets` and the `ssl` module: the TLS peer of laputa's
interop tests (adapters/tests/interop_python_tls.rs).

Echoes every text and binary message back unchanged, over TLS with the given certificate chain
and key, offering ALPN http/1.1. Once it listens, prints READY and the port on stdout ("READY
9443"; --port 0 lets the system choose). For each connection it prints what TLS agreed on:
"TLS <version> ALPN <protocol> SNI <name>" (a dash for none).

    wss_echo_server.py --port 0 --certfile chain.pem --keyfile key.pem
"""

from __future__ import annotations

import argparse
import asyncio
import ssl

from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

MAX_MESSAGE_SIZE = 16 * 1024 * 1024


async def echo(ws: ServerConnection) -> None:
    tls = ws.transport.get_extra_info("ssl_object")
    sni = getattr(tls, "laputa_sni", None)
    print("TLS", tls.version(), "ALPN", tls.selected_alpn_protocol() or "-", "SNI", sni or "-", flush=True)
    try:
        async for message in ws:
            await ws.send(message)
    except ConnectionClosed:
        pass


def remember_sni(tls: ssl.SSLObject, name: str | None, _context: ssl.SSLContext) -> None:
    tls.laputa_sni = name  # type: ignore[attr-defined]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--certfile", required=True)
    parser.add_argument("--keyfile", required=True)
    args = parser.parse_args()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(args.certfile, args.keyfile)
    context.set_alpn_protocols(["http/1.1"])
    context.sni_callback = remember_sni
    async with serve(
        echo,
        args.host,
        args.port,
        ssl=context,
        compression=None,
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
