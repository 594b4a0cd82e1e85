"""Reading an uploaded supplier file in a child process with memory and time limits.

A server reads files strangers send. Whatever a file does to the reader (exhaust memory, abort, spin), it does it
to a child process that dies alone; the server gets one line saying why and keeps answering everyone else.
"""

from __future__ import annotations

import io
import json
import resource
import signal
import subprocess
import sys
from dataclasses import dataclass

import polars as pl

from screener.supplier_io import InputFileError, SupplierTable, read_supplier_table, sheet_names

MEMORY_LIMIT_BYTES = 4 * 1024**3
TIME_LIMIT_S = 120
_ERROR = b"E"
_FRAME = b"F"
_SHEETS = b"S"


@dataclass(frozen=True)
class Limits:
    """What one read in the child process may use."""

    memory_bytes: int = MEMORY_LIMIT_BYTES
    seconds: float = TIME_LIMIT_S


def read_isolated(content: bytes, *, filename: str, sheet: str | None = None,
                  limits: Limits = Limits()) -> SupplierTable:
    """read_supplier_table() run in a child process; InputFileError when the file is refused or kills the reader."""
    request = {"action": "read", "filename": filename, "sheet": sheet}
    repairs, frame = _run(request, content, limits).split(b"\n", 1)
    return SupplierTable(pl.read_ipc(io.BytesIO(frame)), tuple(json.loads(repairs)))


def sheets_isolated(content: bytes, *, filename: str, limits: Limits = Limits()) -> list[str]:
    """sheet_names() run in a child process."""
    return json.loads(_run({"action": "sheets", "filename": filename}, content, limits))


def _run(request: dict, content: bytes, limits: Limits) -> bytes:
    label = request["filename"] or "the uploaded file"
    command = [sys.executable, "-m", "screener.isolated", json.dumps({**request, "memory": limits.memory_bytes})]
    try:
        child = subprocess.run(command, input=content, capture_output=True, timeout=limits.seconds, check=False)
    except subprocess.TimeoutExpired as error:
        raise InputFileError(
            f"{label} took more than {limits.seconds:g} s to read; split it and try again"
        ) from error
    kind, payload = child.stdout[:1], child.stdout[1:]
    if child.returncode != 0 or kind not in (_ERROR, _FRAME, _SHEETS):
        raise InputFileError(
            f"{label} could not be read: the reader stopped ({_how(child.returncode)}), out of the "
            f"{limits.memory_bytes / 1024**2:,.0f} MB of memory a file may use or on damaged data; split it and try again"
        )
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


def main() -> None:
    request = json.loads(sys.argv[1])
    resource.setrlimit(resource.RLIMIT_AS, (request["memory"], request["memory"]))
    answer = _serve(request, sys.stdin.buffer.read())
    sys.stdout.buffer.write(answer)


if __name__ == "__main__":
    main()
