"""Reading an uploaded supplier file in a child process with memory and time limits.

A server reads files strangers send. Whatever a file does to the reader (exhaust memory, abort, spin), it does it
to a child process that dies alone; the server gets one line saying why and keeps answering everyone else. A file
is read whole (`read_isolated`) or batch by batch (`read_batches_isolated`), its batches streamed back through a
pipe as the screening takes them, so memory follows the batch on both sides.
"""

from __future__ import annotations

import io
import json
import math
import resource
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import polars as pl

from screener.supplier_io import (
    BATCH_ROWS,
    InputFileError,
    SupplierBatches,
    SupplierTable,
    read_supplier_batches,
    read_supplier_table,
    sheet_names,
)

MEMORY_LIMIT_BYTES = 4 * 1024**3
TIME_LIMIT_S = 120
_ERROR = b"E"
_FRAME = b"F"
_SHEETS = b"S"
_HEADER = b"H"
_REPAIRS = b"R"
_LENGTH_BYTES = 8


@dataclass(frozen=True)
class Limits:
    """What one read in the child process may use."""

    memory_bytes: int = MEMORY_LIMIT_BYTES
    seconds: float = TIME_LIMIT_S  # of the clock for a whole read, of CPU for a read batch by batch


def read_isolated(content: bytes, *, filename: str, sheet: str | None = None,
                  limits: Limits = Limits()) -> SupplierTable:
    """read_supplier_table() run in a child process; InputFileError when the file is refused or kills the reader."""
    request = {"action": "read", "filename": filename, "sheet": sheet}
    repairs, frame = _run(request, content, limits).split(b"\n", 1)
    return SupplierTable(pl.read_ipc(io.BytesIO(frame)), tuple(json.loads(repairs)))


def sheets_isolated(content: bytes, *, filename: str, limits: Limits = Limits()) -> list[str]:
    """sheet_names() run in a child process."""
    return json.loads(_run({"action": "sheets", "filename": filename}, content, limits))


def read_batches_isolated(path: Path, *, sheet: str | None = None, batch_rows: int | None = BATCH_ROWS,
                          limits: Limits = Limits()) -> SupplierBatches:
    """read_supplier_batches() of a file run in a child process, within the memory limit and the limit of CPU time;
    InputFileError when the file is refused or kills the reader, at once or at the batch it reached."""
    label = Path(path).name
    request = {"action": "batches", "filename": label, "path": str(path), "sheet": sheet, "batch_rows": batch_rows}
    child = subprocess.Popen(_command(request, limits), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL)
    assert child.stdout is not None
    try:
        _, payload = _message(child, label, limits)
    except BaseException:
        _end(child)
        raise
    rows, header = payload.split(b"\n", 1)
    repairs: list[str] = []
    batches = _batches(child, label, limits, repairs)
    return SupplierBatches(pl.read_ipc(io.BytesIO(header)), json.loads(rows), batches, repairs)


def _batches(child: subprocess.Popen, label: str, limits: Limits, repairs: list[str]) -> Iterator[pl.DataFrame]:
    """The child's batches as it reads them, then its repairs into `repairs`; the child is ended however this ends."""
    try:
        while True:
            kind, payload = _message(child, label, limits)
            if kind == _REPAIRS:
                repairs.extend(json.loads(payload))
                return
            yield pl.read_ipc(io.BytesIO(payload))
    finally:
        _end(child)


def _message(child: subprocess.Popen, label: str, limits: Limits) -> tuple[bytes, bytes]:
    """The child's next message (kind, payload); InputFileError for its error line, or when it stopped."""
    stream: BinaryIO = child.stdout  # type: ignore[assignment]  # opened with stdout=PIPE
    head = stream.read(1 + _LENGTH_BYTES)
    if len(head) < 1 + _LENGTH_BYTES:
        raise _stopped(label, child.wait(), limits)
    kind, payload = head[:1], stream.read(int.from_bytes(head[1:], "big"))
    if kind == _ERROR:
        raise InputFileError(payload.decode("utf-8", errors="replace"))
    return kind, payload


def _end(child: subprocess.Popen) -> None:
    if child.poll() is None:
        child.kill()
    child.wait()
    if child.stdout:
        child.stdout.close()


def _command(request: dict, limits: Limits) -> list[str]:
    limited = {**request, "memory": limits.memory_bytes, "cpu": limits.seconds}
    return [sys.executable, "-m", "screener.isolated", json.dumps(limited)]


def _stopped(label: str, returncode: int, limits: Limits) -> InputFileError:
    return InputFileError(
        f"{label} could not be read: the reader stopped ({_how(returncode)}), out of the "
        f"{limits.memory_bytes / 1024**2:,.0f} MB of memory or the {limits.seconds:g} s of CPU time a file may use, "
        "or on damaged data; split it and try again"
    )


def _run(request: dict, content: bytes, limits: Limits) -> bytes:
    label = request["filename"] or "the uploaded file"
    command = _command(request, limits)
    try:
        child = subprocess.run(command, input=content, capture_output=True, timeout=limits.seconds, check=False)
    except subprocess.TimeoutExpired as error:
        raise InputFileError(
            f"{label} took more than {limits.seconds:g} s to read; split it and try again"
        ) from error
    kind, payload = child.stdout[:1], child.stdout[1:]
    if child.returncode != 0 or kind not in (_ERROR, _FRAME, _SHEETS):
        raise _stopped(label, child.returncode, limits)
    if kind == _ERROR:
        raise InputFileError(payload.decode("utf-8", errors="replace"))
    return payload


def _how(returncode: int) -> str:
    return signal.Signals(-returncode).name if returncode < 0 else f"exit status {returncode}"


def _serve(request: dict, content: bytes) -> bytes:
    """The child's answer: a kind byte, then the repairs (JSON line) and an Arrow IPC frame, a JSON sheet list or
    an error line."""
    try:
        if request["action"] == "sheets":
            return _SHEETS + json.dumps(sheet_names(content, filename=request["filename"])).encode()
        table = read_supplier_table(content, filename=request["filename"], sheet=request.get("sheet"))
    except InputFileError as error:
        return _ERROR + str(error).encode()
    except MemoryError:
        return _ERROR + f"{request['filename']} needs more memory to read than a file may use".encode()
    buffer = io.BytesIO()
    table.frame.write_ipc(buffer)
    return _FRAME + json.dumps(table.repairs).encode() + b"\n" + buffer.getvalue()


def _stream(request: dict, out: BinaryIO) -> None:
    """The child's answer to a read batch by batch: a header (row count, columns), each batch, then the repairs;
    or an error line. Each message is a kind byte, its length and its payload."""

    def send(kind: bytes, payload: bytes) -> None:
        out.write(kind + len(payload).to_bytes(_LENGTH_BYTES, "big") + payload)
        out.flush()

    def ipc(frame: pl.DataFrame) -> bytes:
        buffer = io.BytesIO()
        frame.write_ipc(buffer)
        return buffer.getvalue()

    try:
        source = read_supplier_batches(Path(request["path"]), sheet=request.get("sheet"), batch_rows=request["batch_rows"])
        send(_HEADER, json.dumps(source.rows).encode() + b"\n" + ipc(source.header))
        for batch in source.batches:
            send(_FRAME, ipc(batch))
    except InputFileError as error:
        send(_ERROR, str(error).encode())
        return
    except MemoryError:
        send(_ERROR, f"{request['filename']} needs more memory to read than a file may use".encode())
        return
    send(_REPAIRS, json.dumps(source.repairs).encode())


def main() -> None:
    request = json.loads(sys.argv[1])
    resource.setrlimit(resource.RLIMIT_AS, (request["memory"], request["memory"]))
    if request["action"] == "batches":
        cpu = math.ceil(request["cpu"])
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
        _stream(request, sys.stdout.buffer)
        return
    answer = _serve(request, sys.stdin.buffer.read())
    sys.stdout.buffer.write(answer)


if __name__ == "__main__":
    main()
