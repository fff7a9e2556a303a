"""A small asyncio HTTP/1.1 load generator: keep-alive connections, closed and open loops."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

# One request: (path, headers, body); built by the caller for each message.
Request = tuple[str, dict[str, str], bytes]
RequestFactory = Callable[[], tuple[object, Request] | None]


@dataclass
class Outcome:
    """What a load run saw: latencies of answered requests, statuses, and which keys succeeded."""

    latencies_ms: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    ok_keys: list[object] = field(default_factory=list)
    failed_keys: list[object] = field(default_factory=list)
    errors: int = 0
    timeouts: int = 0
    skipped: int = 0
    started: float = 0.0
    finished: float = 0.0

    @property
    def sent(self) -> int:
        return len(self.latencies_ms) + self.errors

    @property
    def elapsed(self) -> float:
        return max(self.finished - self.started, 1e-9)

    def rate(self) -> float:
        """Successful requests per second."""
        return len(self.ok_keys) / self.elapsed

    def percentile(self, share: float) -> float:
        """Latency at `share` (0..1) of answered requests, in milliseconds."""
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        index = min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))
        return ordered[index]

    def record(self, key: object, status: int, latency_ms: float) -> None:
        self.latencies_ms.append(latency_ms)
        self.statuses[status] = self.statuses.get(status, 0) + 1
        (self.ok_keys if status == 200 else self.failed_keys).append(key)


class Connection:
    """One keep-alive HTTP/1.1 connection to host:port."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, request: Request) -> int:
        """Send one POST; on a kept-alive connection the server had closed, reconnect once."""
        reused = self.writer is not None
        try:
            return await self._request(request)
        except (ConnectionError, asyncio.IncompleteReadError):
            if not reused:
                raise
            # Like any HTTP client: the server closed an idle connection (gunicorn's keep-alive
            # is 2 s). Sending again is safe: webhooks are de-duplicated on the provider's id.
            self.close()
            return await self._request(request)

    async def _request(self, request: Request) -> int:
        path, headers, body = request
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        lines = [f"POST {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        lines.append(f"Content-Length: {len(body)}")
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        assert self.reader is not None
        status_line = await self.reader.readline()
        if not status_line:
            self.close()
            raise ConnectionError("server closed the connection")
        status = int(status_line.split()[1])
        length, keep = 0, True
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            name = name.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "connection" and value.strip().lower() == "close":
                keep = False
        if length:
            await self.reader.readexactly(length)
        if not keep:
            self.close()
        return status

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


REQUEST_TIMEOUT_SECONDS = 30.0


async def _one(conn: Connection, key: object, request: Request, start: float, out: Outcome) -> None:
    try:
        status = await asyncio.wait_for(conn.request(request), REQUEST_TIMEOUT_SECONDS)
    except TimeoutError:
        conn.close()
        out.timeouts += 1
        out.failed_keys.append(key)
        return
    except (OSError, ConnectionError, asyncio.IncompleteReadError, ValueError, IndexError):
        conn.close()
        out.errors += 1
        out.failed_keys.append(key)
        return
    out.record(key, status, (time.perf_counter() - start) * 1000)


async def closed_loop(
    host: str,
    port: int,
    make: RequestFactory,
    connections: int,
    seconds: float,
    release: Callable[[object], None],
    until_exhausted: bool = False,
) -> Outcome:
    """`connections` clients each send the next request as soon as the last one is answered.

    With `until_exhausted` a client stops when `make` has nothing left (a phase of a bounded
    number of one-off messages); otherwise None means "every sender is busy", and it waits.
    """
    out = Outcome(started=time.perf_counter())
    deadline = out.started + seconds

    async def client() -> None:
        conn = Connection(host, port)
        while time.perf_counter() < deadline:
            made = make()
            if made is None:
                if until_exhausted:
                    break
                await asyncio.sleep(0.001)
                continue
            key, request = made
            await _one(conn, key, request, time.perf_counter(), out)
            release(key)
        conn.close()

    await asyncio.gather(*(client() for _ in range(connections)))
    out.finished = time.perf_counter()
    return out


async def open_loop(
    host: str,
    port: int,
    make: RequestFactory,
    rate: float,
    seconds: float,
    release: Callable[[object], None],
    max_connections: int = 512,
) -> Outcome:
    """Start requests at a fixed rate whatever the answers do; latency counts from the due time."""
    out = Outcome(started=time.perf_counter())
    idle: list[Connection] = []
    opened = 0
    tasks: set[asyncio.Task[None]] = set()
    total = int(rate * seconds)

    async def fire(due: float, key: object, request: Request) -> None:
        nonlocal opened
        conn = idle.pop() if idle else None
        if conn is None:
            opened += 1
            conn = Connection(host, port)
        await _one(conn, key, request, due, out)
        release(key)
        if opened <= max_connections:
            idle.append(conn)
        else:
            conn.close()
            opened -= 1

    for number in range(total):
        due = out.started + number / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        made = make()
        if made is None:  # every resident is waiting for an answer: the server is far behind
            out.skipped += 1
            continue
        task = asyncio.create_task(fire(due, *made))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    if tasks:
        await asyncio.gather(*list(tasks))
    out.finished = time.perf_counter()
    for conn in idle:
        conn.close()
    return out
