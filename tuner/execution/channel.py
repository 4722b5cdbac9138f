"""A socket as a message transport: length-prefixed frames, each one JSON document."""

from __future__ import annotations

import json
import socket
import struct
from collections.abc import Mapping
from typing import Any

_HEADER = struct.Struct("!Q")


class SocketChannel:
    """Length-prefixed frames over a connected socket; JSON messages in them.

    Example:
        >>> import socket
        >>> left, right = socket.socketpair()
        >>> SocketChannel(left).send_json({"call": "save", "arguments": {}})
        >>> SocketChannel(right).receive_json()
        {'call': 'save', 'arguments': {}}
    """

    def __init__(self, connection: socket.socket):
        self._connection = connection

    def send(self, payload: bytes) -> None:
        self._connection.sendall(_HEADER.pack(len(payload)) + payload)

    def receive(self) -> bytes:
        (length,) = _HEADER.unpack(self._receive_exactly(_HEADER.size))
        return self._receive_exactly(length)

    def _receive_exactly(self, count: int) -> bytes:
        chunks = []
        while count:
            chunk = self._connection.recv(min(count, 1 << 20))
            if not chunk:
                raise EOFError("the other end of the trial channel closed")
            chunks.append(chunk)
            count -= len(chunk)
        return b"".join(chunks)

    def send_json(self, message: Mapping[str, Any]) -> None:
        self.send(json.dumps(message, allow_nan=True).encode())

    def receive_json(self) -> dict[str, Any]:
        return json.loads(self.receive())

    def call(self, message: dict[str, Any]) -> dict[str, Any]:
        """Sends a request and waits for its reply: the transport of a remote oracle."""
        self.send_json(message)
        return self.receive_json()

    def close(self) -> None:
        self._connection.close()
