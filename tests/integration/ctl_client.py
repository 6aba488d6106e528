"""A minimal client of a node's control socket (docs/protocol.md section 4), for load tests
that must queue many messages without starting a CLI process for each.

Each request and response is its length (4 bytes, big-endian) and a protobuf CtlRequest /
CtlResponse; one connection carries any number of them. Hand-written protobuf, as in
noise_peer.py."""
import os
import socket
import struct

import noise_peer as np

# CtlRequest oneof fields
REQ_PROPOSE, REQ_LIST, REQ_SHOW = 8, 10, 11
# CtlResponse fields
RESP_CODE, RESP_ERROR, RESP_MESSAGE, RESP_MESSAGES = 1, 2, 8, 9


def _unzigzag(n):
    return (n >> 1) ^ -(n & 1)


def _decode_message_info(buf):
    out = {}
    for num, _, v in np._fields(buf):
        if num in (1, 2, 3, 4, 5, 9):
            out[{1: "id", 2: "kind", 3: "state", 4: "direction", 5: "peer", 9: "title"}[num]] = \
                v.decode("utf-8", "replace")
        elif num in (10, 11):
            out[{10: "created_ms", 11: "expires_ms"}[num]] = v
    return out


class Ctl:
    def __init__(self, data_dir, timeout=30.0):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(os.path.join(data_dir, "coexd.sock"))

    def close(self):
        self.sock.close()

    def _recv_exact(self, n):
        buf = bytearray()
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise ConnectionError("control socket closed")
            buf += chunk
        return bytes(buf)

    def call(self, field, payload):
        """Sends a CtlRequest with one command; returns (code, error, {field: value})."""
        req = np._field_bytes(field, payload, keep_empty=True)
        self.sock.sendall(struct.pack(">I", len(req)) + req)
        (n,) = struct.unpack(">I", self._recv_exact(4))
        resp = self._recv_exact(n)
        code, error, result = 0, "", {}
        for num, _, v in np._fields(resp):
            if num == RESP_CODE:
                code = _unzigzag(v)
            elif num == RESP_ERROR:
                error = v.decode("utf-8", "replace")
            else:
                result.setdefault(num, []).append(v)
        return code, error, result

    def propose(self, to, title, body="", expires_s=0):
        """Queues a proposal; returns its id (hex) once durable. Raises on an error."""
        p = (np._field_bytes(1, to.encode()) + np._field_bytes(2, title.encode())
             + np._field_bytes(4, body.encode()) + np._field_varint(9, expires_s))
        code, error, result = self.call(REQ_PROPOSE, p)
        if code != 0:
            raise RuntimeError("propose failed (%d): %s" % (code, error))
        return _decode_message_info(result[RESP_MESSAGE][0])["id"]

    def show_request(self, mid, wait_receipt_ms=0):
        """The framed ShowRequest (to send without waiting for the answer)."""
        req = np._field_bytes(REQ_SHOW, np._field_bytes(1, mid.encode())
                              + np._field_varint(2, wait_receipt_ms), keep_empty=True)
        return struct.pack(">I", len(req)) + req

    def show(self, mid, wait_receipt_ms=0):
        """The message's state; with wait_receipt_ms, answered once it has its receipt or that
        many ms passed. Raises on an error."""
        code, error, result = self.call(REQ_SHOW, np._field_bytes(1, mid.encode())
                                        + np._field_varint(2, wait_receipt_ms))
        if code != 0:
            raise RuntimeError("show failed (%d): %s" % (code, error))
        return _decode_message_info(result[RESP_MESSAGE][0])["state"]
