"""Command-line options for permessage-deflate, shared by echo_server.py and client_check.py."""

from __future__ import annotations

import argparse

from websockets.extensions.permessage_deflate import (
    ClientPerMessageDeflateFactory,
    ServerPerMessageDeflateFactory,
)


def add_deflate_args(parser: argparse.ArgumentParser) -> None:
    """Add --compression and the four RFC 7692 parameters to `parser`."""
    parser.add_argument(
        "--compression",
        choices=("on", "off"),
        default="off",
        help="negotiate permessage-deflate (default: off)",
    )
    parser.add_argument("--server-no-context-takeover", action="store_true")
    parser.add_argument("--client-no-context-takeover", action="store_true")
    parser.add_argument("--server-max-window-bits", type=int, metavar="N")
    parser.add_argument("--client-max-window-bits", type=int, metavar="N")


def _params(args: argparse.Namespace) -> dict:
    return {
        "server_no_context_takeover": args.server_no_context_takeover,
        "client_no_context_takeover": args.client_no_context_takeover,
        "server_max_window_bits": args.server_max_window_bits,
    }


def server_extensions(args: argparse.Namespace) -> list:
    """The server extension factories that `args` ask for (none when compression is off)."""
    if args.compression == "off":
        return []
    return [
        ServerPerMessageDeflateFactory(
            **_params(args), client_max_window_bits=args.client_max_window_bits
        )
    ]


def client_extensions(args: argparse.Namespace) -> list:
    """The client extension factories that `args` ask for (none when compression is off)."""
    if args.compression == "off":
        return []
    # Without a value, offer a bare client_max_window_bits (the server may pick any size).
    bits = args.client_max_window_bits if args.client_max_window_bits else True
    return [ClientPerMessageDeflateFactory(**_params(args), client_max_window_bits=bits)]
