#!/usr/bin/env python3
"""Counts the requests a client sends the Docker engine.

    count-proxy.py LISTEN_SOCKET UPSTREAM_SOCKET LOG

Listens on a Unix socket and passes every connection through to the engine's socket, byte for
byte, both ways. Each request line the client sends (`GET /v1.41/containers/json HTTP/1.1`) is
appended to LOG as `<unix time> <method> <path>`, so a bench can count what a dashboard asks
while it sits idle. Requests are found at line starts of the client's stream; request bodies
(JSON) never start a line with an HTTP method and a path.
"""
import asyncio
import os
import re
import sys
import time

REQUEST = re.compile(rb"^(GET|HEAD|POST|PUT|DELETE) (\S+) HTTP/1\.[01]\r?$", re.M)


async def pipe(reader, writer, log=None):
    pending = b""
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
            if log is not None:
                pending = (pending + data)[-8192:]
                lines = pending.split(b"\n")
                pending = lines.pop()
                for line in lines:
                    m = REQUEST.match(line)
                    if m:
                        log.write(f"{time.time():.3f} {m.group(1).decode()} {m.group(2).decode()}\n")
                        log.flush()
    except (ConnectionResetError, BrokenPipeError):
        pass
    finally:
        writer.close()


async def main(listen, upstream, log_path):
    log = open(log_path, "a")

    async def handle(creader, cwriter):
        ureader, uwriter = await asyncio.open_unix_connection(upstream)
        await asyncio.gather(pipe(creader, uwriter, log), pipe(ureader, cwriter))

    if os.path.exists(listen):
        os.unlink(listen)
    server = await asyncio.start_unix_server(handle, path=listen)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    asyncio.run(main(*sys.argv[1:]))
