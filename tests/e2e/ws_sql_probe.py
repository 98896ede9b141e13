"""Sends one SQL statement over an anonymous v2 WebSocket and prints the reply's kind.

Usage: ws_sql_probe.py WS_URL DB MODE SQL_FILE, where MODE is `oneoff` (a OneOffQuery)
or `subscribe` (a Subscribe of one query). Prints one line: `reply <tag> <bytes> <text>`
with the server message's tag (1 SubscribeApplied, 3 SubscriptionError, 5
OneOffQueryResult) and the printable text of the reply's first 400 bytes, or
`closed <code> <reason>` if the server closed the socket instead. Used by
`tests/e2e/sql_limits.rs`.
"""

import struct
import sys

from websockets.sync.client import connect


def string(s: bytes) -> bytes:
    return struct.pack("<I", len(s)) + s


def main() -> None:
    url, db, mode, path = sys.argv[1:5]
    sql = open(path, "rb").read()
    if mode == "oneoff":
        # ClientMessage::OneOffQuery (tag 2): request_id u32, query_string.
        message, wanted = b"\x02" + struct.pack("<I", 7) + string(sql), {5}
    else:
        # ClientMessage::Subscribe (tag 0): request_id, query_set_id, one query.
        message, wanted = b"\x00" + struct.pack("<II", 7, 1) + struct.pack("<I", 1) + string(sql), {1, 3}
    uri = f"{url}/v1/database/{db}/subscribe?compression=None"
    with connect(uri, subprotocols=["v2.bsatn.spacetimedb"], max_size=None, open_timeout=30) as ws:
        ws.recv(timeout=30)  # InitialConnection
        ws.send(message)
        try:
            while True:
                reply = ws.recv(timeout=60)
                # A compression byte (0: none), then the ServerMessage tag.
                if isinstance(reply, bytes) and len(reply) > 1 and reply[1] in wanted:
                    text = "".join(chr(b) if 32 <= b < 127 else "." for b in reply[:400])
                    print(f"reply {reply[1]} {len(reply)} {text}", flush=True)
                    return
        except Exception as e:  # noqa: BLE001 - any close is the answer
            code = getattr(getattr(e, "rcvd", None), "code", None)
            print(f"closed {code} {e}", flush=True)


main()
