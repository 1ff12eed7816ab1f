"""A load-generating client process for bench.work: moves items along a path over HTTP
(or, for comparison, reads a list of paths).

Run as ``python -m bench._client``; it imports nothing of Andon, so it starts fast and costs
the machine only what sending requests costs. Protocol on stdin/stdout, one JSON line each:
the job in; ``ready`` out once imported; ``{"start_at", "stop_at"}`` in (``time.monotonic``
instants, which are system-wide on Linux); the records out when the time is up.

HTTP/1.1 is spoken directly over asyncio streams, one keep-alive connection per walker. A
general client (httpx) spent 1.5–1.8 ms of CPU a request here, as much as a fifth of what
the whole transition costs, on a machine the client shares with the server and the
database; this one spends a small fraction of that, so the figures are the server's.
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import time
from typing import Any
from urllib.parse import urlsplit


class Connection:
    """One keep-alive HTTP/1.1 connection that sends JSON and reads a sized response."""

    def __init__(self, host: str, port: int, token: str) -> None:
        self.host, self.port = host, port
        self.head = (
            f"Host: {host}:{port}\r\nAuthorization: Bearer {token}\r\n"
            "Content-Type: application/json\r\nAccept: application/json\r\n"
        )
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(
        self, method: str, path: str, body: dict[str, Any] | None = None
    ) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        payload = json.dumps(body).encode() if body is not None else b""
        head = f"{method} {path} HTTP/1.1\r\n{self.head}Content-Length: {len(payload)}\r\n\r\n"
        self.writer.write(head.encode() + payload)
        received = await self.reader.readuntil(b"\r\n\r\n")
        lines = received.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        length, closing = 0, False
        for line in lines[1:]:
            name, _, value = line.partition(":")
            name = name.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "connection" and value.strip().lower() == "close":
                closing = True
            elif name == "transfer-encoding":
                raise RuntimeError("the benchmarked endpoints answer with a Content-Length")
        content = await self.reader.readexactly(length) if length else b""
        if closing:
            self.close()
        return status, content

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def walk(job: dict[str, Any], start_at: float, stop_at: float) -> dict[str, Any]:
    records: list[tuple[float, float, int]] = []
    errors: list[str] = []
    pending = [tuple(item) for item in reversed(job["items"])]
    used: list[int] = []
    path: list[str] = job["path"]
    base = urlsplit(job["base"])
    host, port = base.hostname or "127.0.0.1", base.port or 80

    async def walker() -> None:
        # One connection walks one item at a time, so moves of an item never race.
        connection = Connection(host, port, job["token"])
        try:
            while pending and time.monotonic() < stop_at:
                item_id, version = pending.pop()
                used.append(item_id)
                for stage in path:
                    if time.monotonic() >= stop_at:
                        return
                    t0 = time.monotonic()
                    status, content = await connection.request(
                        "POST",
                        f"/api/v1/work-items/{item_id}/move",
                        {"to": stage, "version": version},
                    )
                    t1 = time.monotonic()
                    records.append((t0, t1, status))
                    if status != 200:
                        if len(errors) < 5:
                            errors.append(f"{status} {content[:200].decode(errors='replace')}")
                        break
                    version = json.loads(content)["version"]
        finally:
            connection.close()

    async def reader(offset: int) -> None:
        # Reads for comparison: GET the job's paths in turn until the time is up.
        connection = Connection(host, port, job["token"])
        paths: list[str] = job["paths"]
        turn = offset
        try:
            while time.monotonic() < stop_at:
                t0 = time.monotonic()
                status, content = await connection.request("GET", paths[turn % len(paths)])
                records.append((t0, time.monotonic(), status))
                turn += 1
                if status != 200 and len(errors) < 5:
                    errors.append(f"{status} {content[:200].decode(errors='replace')}")
        finally:
            connection.close()

    reading = job.get("mode") == "read"
    await asyncio.sleep(max(0.0, start_at - time.monotonic()))
    if reading:
        await asyncio.gather(*(reader(n) for n in range(job["concurrency"])))
    else:
        await asyncio.gather(*(walker() for _ in range(job["concurrency"])))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "records": records,
        "errors": errors,
        "exhausted": not pending and not reading,
        "used": used,
        "cpu_seconds": usage.ru_utime + usage.ru_stime,
    }


def main() -> None:
    job = json.loads(sys.stdin.readline())
    print("ready", flush=True)
    times = json.loads(sys.stdin.readline())
    result = asyncio.run(walk(job, times["start_at"], times["stop_at"]))
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
