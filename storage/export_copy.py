"""The export's CSV as PostgreSQL's COPY writes it, read straight from libpq."""

from __future__ import annotations

import selectors
from collections.abc import Generator
from typing import Any

import psycopg
from psycopg.pq import ExecStatus, TransactionStatus


def copy_csv(driver: Any, query: str, header: bytes, chunk_size: int) -> Generator[bytes]:
    """COPY (`query`) TO STDOUT as CSV with CRLF line ends, `header` first, in chunks.

    psycopg's Copy.read() costs a Python generator round per row, more than the rest of the
    export together; libpq's non-blocking PQgetCopyData in a loop hands over each row (one
    COPY message each) for a slice and a join. COPY ends rows with LF, the CSV the export
    promises with CRLF: each row's LF is swapped, a quoted LF inside a text is left as it was
    written. Early close (a download cut short) cancels the COPY and rolls back to a savepoint,
    so the session can go on.
    """
    driver.execute("SAVEPOINT voices_export")
    pgconn = driver.pgconn
    waiter = selectors.DefaultSelector()
    waiter.register(pgconn.socket, selectors.EVENT_READ)
    finished = False
    try:
        pgconn.send_query(f"COPY ({query}) TO STDOUT (FORMAT csv, ENCODING 'UTF8')".encode())
        started = _result(pgconn, waiter)
        if started.status != ExecStatus.COPY_OUT:
            _raise_for(started)
        rows: list[Any] = [header]
        while _read_rows(pgconn, waiter, rows, chunk_size):
            rows.append(b"")
            yield b"\r\n".join(rows)
            rows = []
        while (done := _result(pgconn, waiter)) is not None:
            if done.status != ExecStatus.COMMAND_OK:
                _raise_for(done)
        finished = True
        if rows:
            rows.append(b"")
            yield b"\r\n".join(rows)
    finally:
        waiter.close()
        if not driver.closed:
            if not finished:
                _abandon_copy(driver)
            end = "RELEASE" if finished else "ROLLBACK TO"
            driver.execute(f"{end} SAVEPOINT voices_export")


def _read_rows(pgconn: Any, waiter: Any, rows: list[Any], chunk_size: int) -> bool:
    """Add COPY rows, each without its LF, to `rows`: True once past `chunk_size` bytes, False
    when the COPY has ended."""
    size = 0
    while True:
        length, data = pgconn.get_copy_data(1)
        if length > 0:
            rows.append(data[:-1])
            size += length
            if size >= chunk_size:
                return True
        elif length == 0:  # the next row is still on its way
            waiter.select()
            pgconn.consume_input()
        elif length == -1:
            return False
        else:
            raise psycopg.OperationalError(pgconn.get_error_message())


def _result(pgconn: Any, waiter: Any) -> Any:
    """The next result of the running query, waiting on the socket rather than blocking."""
    while pgconn.is_busy():
        waiter.select()
        pgconn.consume_input()
    return pgconn.get_result()


def _raise_for(result: Any) -> None:
    raise psycopg.errors.error_from_result(result)


def _abandon_copy(driver: Any) -> None:
    """Stop a COPY part-way: ask the server to cancel it, then read to its end, discarding."""
    pgconn = driver.pgconn
    if pgconn.transaction_status != TransactionStatus.ACTIVE:
        return
    driver.cancel_safe()
    with selectors.DefaultSelector() as waiter:
        waiter.register(pgconn.socket, selectors.EVENT_READ)
        while (length := pgconn.get_copy_data(1)[0]) >= 0:
            if length == 0:
                waiter.select()
                pgconn.consume_input()
        while True:
            while pgconn.is_busy():
                waiter.select()
                pgconn.consume_input()
            if pgconn.get_result() is None:
                break
