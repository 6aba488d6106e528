"""A user-space TCP proxy that adds a fixed delay to each direction (this kernel has no netem).

    python3 delay_proxy.py --listen 127.0.0.1:0 --to 10.79.0.2:7400 --delay-ms 200

Prints "listening HOST:PORT" once it accepts connections, then relays every accepted
connection to --to: each chunk read on one side is written to the other --delay-ms after it
was read, in order; an end of stream is passed on after the same delay; a reset or error on
either side closes both. It runs until SIGTERM or SIGINT and then prints one JSON line of
counters ({"connections": N, "bytes_up": N, "bytes_down": N}).

netfaults.py starts it inside a node's network namespace (ip netns exec), so that the node
dials the proxy on its own loopback and the proxy dials the partner from the node's address.
"""
import argparse
import asyncio
import json
import signal
import sys

CHUNK = 65536


class Counters:
    def __init__(self):
        self.connections = 0
        self.bytes = {"up": 0, "down": 0}


async def pump(reader, writer, delay_s, counters, key):
    """Copies reader to writer, each chunk delay_s after it was read; FIFO, so order holds."""
    loop = asyncio.get_running_loop()
    queue = asyncio.Queue()

    async def read():
        while True:
            data = await reader.read(CHUNK)
            queue.put_nowait((loop.time() + delay_s, data))
            if not data:
                return

    async def write():
        while True:
            due, data = await queue.get()
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            if not data:
                if writer.can_write_eof():
                    writer.write_eof()
                return
            writer.write(data)
            counters.bytes[key] += len(data)
            await writer.drain()

    await asyncio.gather(read(), write())


async def relay(client_r, client_w, target, delay_s, counters):
    counters.connections += 1
    try:
        server_r, server_w = await asyncio.open_connection(*target)
    except OSError:
        client_w.close()
        return
    tasks = [asyncio.ensure_future(pump(client_r, server_w, delay_s, counters, "up")),
             asyncio.ensure_future(pump(server_r, client_w, delay_s, counters, "down"))]
    try:
        # Both directions end (EOF each way), or one fails: then the other is cut short.
        done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for t in pending:
            t.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        for t in done:
            t.exception()  # retrieved: a reset is an ordinary end here
    finally:
        for w in (client_w, server_w):
            w.close()


def hostport(s):
    host, _, port = s.rpartition(":")
    if not host or not port.isdigit():
        raise argparse.ArgumentTypeError("expected HOST:PORT, got %r" % s)
    return host, int(port)


async def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--listen", type=hostport, default=("127.0.0.1", 0))
    ap.add_argument("--to", type=hostport, required=True)
    ap.add_argument("--delay-ms", type=float, required=True)
    a = ap.parse_args()
    if a.delay_ms < 0:
        ap.error("--delay-ms must be >= 0")
    counters = Counters()
    server = await asyncio.start_server(
        lambda r, w: relay(r, w, a.to, a.delay_ms / 1000.0, counters), *a.listen)
    host, port = server.sockets[0].getsockname()[:2]
    print("listening %s:%d" % (host, port), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    server.close()
    print(json.dumps({"connections": counters.connections, "bytes_up": counters.bytes["up"],
                      "bytes_down": counters.bytes["down"]}), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
    sys.exit(0)
