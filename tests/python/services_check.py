#!/usr/bin/env python3
"""Checks the `services` example with a Python `websockets` client.

The server runs with `--allow-origin ORIGIN --auth basic-digest --user USER:PASSWORD`. Each
check prints one line `ok: WHAT`; the script exits 0 when all pass, 1 with `failed: REASON`.

    services_check.py ws://127.0.0.1:4649 --origin http://example.com --user nobita --password password

- Origin: sent and seen (the allowed one is served, another gets 403).
- Subprotocol: /Chat chooses `chat` from the offers; /Echo, which speaks none, chooses none.
- Basic credentials in the URL (`ws://user:pass@host/...`) are let in; a wrong password and
  none at all get 401 with a Basic challenge.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from urllib.parse import quote

from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus


def with_credentials(base: str, user: str, password: str) -> str:
    scheme, rest = base.split("://", 1)
    return f"{scheme}://{quote(user, safe='')}:{quote(password, safe='')}@{rest}"


async def refused(url: str, **kwargs) -> InvalidStatus:
    """The InvalidStatus that connecting to `url` raises; AssertionError if it connects."""
    try:
        async with connect(url, open_timeout=10, close_timeout=10, **kwargs):
            pass
    except InvalidStatus as error:
        return error
    raise AssertionError(f"{url} was let in")


async def check(args: argparse.Namespace) -> None:
    good = with_credentials(args.url, args.user, args.password)
    options = {"open_timeout": 10, "close_timeout": 10, "ping_interval": None}

    # Origin: the allowed one is served, another is refused with 403.
    async with connect(f"{good}/Echo", origin=args.origin, **options) as ws:
        await ws.send("BALUS")
        echoed = await ws.recv()
        assert echoed == "BALUS", f"/Echo answered {echoed!r}"
    error = await refused(f"{good}/Echo", origin="http://evil.example")
    assert error.response.status_code == 403, f"another Origin: {error.response.status_code}"
    print("ok: origin", flush=True)

    # Subprotocols: /Chat speaks `chat`; /Echo speaks none.
    async with connect(f"{good}/Chat?name=Sheeta", subprotocols=["superchat", "chat"], **options) as ws:
        assert ws.subprotocol == "chat", f"/Chat chose {ws.subprotocol!r}"
        await ws.send("hello")
        said = await ws.recv()
        assert said == "Sheeta: hello", f"/Chat said {said!r}"
    async with connect(f"{good}/Echo", subprotocols=["chat"], **options) as ws:
        assert ws.subprotocol is None, f"/Echo chose {ws.subprotocol!r}"
    print("ok: subprotocol", flush=True)

    # Basic credentials in the URL.
    async with connect(f"{good}/Laputa", **options) as ws:
        await ws.send("BALUS")
        said = await ws.recv()
        assert said == "Are you kidding? I've been balused already...", f"/Laputa said {said!r}"
    wrong = with_credentials(args.url, args.user, args.password + "!")
    for url in (f"{wrong}/Laputa", f"{args.url}/Laputa"):
        error = await refused(url)
        status = error.response.status_code
        challenges = error.response.headers.get_all("WWW-Authenticate")
        assert status == 401, f"{url}: {status}"
        assert any(c.startswith("Basic ") for c in challenges), f"{url}: challenges {challenges}"
    print("ok: basic credentials in the URL", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", help="the server's base URL, ws://HOST:PORT")
    parser.add_argument("--origin", required=True)
    parser.add_argument("--user", required=True)
    parser.add_argument("--password", required=True)
    args = parser.parse_args()
    try:
        asyncio.run(check(args))
    except Exception as error:  # noqa: BLE001 - any failure is reported as one line
        print(f"failed: {type(error).__name__}: {error}", flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
