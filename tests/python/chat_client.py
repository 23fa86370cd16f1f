"""A python-socketio client with default options, driven by tests/restart.rs.

Usage: chat_client.py URL TOKEN

It connects with `auth={"token": TOKEN}` and reports, one JSON object a line on stdout, what
happens to it: `connect`, `ready` (session:ready), `message` (message:new), `sent` (the ack of a
send) and `disconnect`. Reconnection is python-socketio's own: nothing here reconnects by hand.
It reads commands, one JSON object a line, on stdin: `{"send": {...}}` emits `message:send`
with that payload and waits for its ack; end of input disconnects and exits.
"""

import json
import sys
import threading

import socketio

# Handlers run on python-socketio's threads: one line at a time.
SAYING = threading.Lock()


def say(**event):
    with SAYING:
        print(json.dumps(event), flush=True)


def main():
    url, token = sys.argv[1], sys.argv[2]
    sio = socketio.Client()

    @sio.event
    def connect():
        say(event="connect", transport=sio.transport())

    @sio.event
    def disconnect(reason=None):
        say(event="disconnect", reason=str(reason))

    @sio.on("session:ready")
    def ready(data):
        say(event="ready", transport=sio.transport())

    @sio.on("message:new")
    def message(data):
        say(event="message", body=data["body"])

    sio.connect(url, auth={"token": token}, wait_timeout=20)
    for line in sys.stdin:
        command = json.loads(line)
        if "send" in command:
            ack = sio.call("message:send", command["send"], timeout=20)
            say(event="sent", ok=bool(ack.get("ok")), body=command["send"]["body"])
    sio.disconnect()


if __name__ == "__main__":
    main()
