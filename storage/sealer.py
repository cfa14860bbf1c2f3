"""A helper process that seals answers, so the bot's event loop goes on while they are sealed.

Why a process: sealing an answer (a fresh X25519 key, an exchange per recipient, HKDF and
AES-GCM) is the largest single cost of handling one, and `cryptography` holds the GIL while it
works, so a thread would only take turns with the event loop. A child process seals on another
core. Under load the store hands answers over as they arrive and commits them once sealed.

What crosses the pipe: the researchers' public keys once, then per answer its plaintext and
associated data one way and the sealed blob the other. The child's environment holds only
what starting Python needs (no SERVER_SECRET, no bot token); it holds public keys only (it can
seal, never open) and calls the very same `storage.sealing.seal`, so the format does not
change. It never logs and its stderr goes nowhere: nothing of an answer can reach a log.

If the helper cannot be started, refuses an answer or dies, the answer is sealed in this
process instead (and raises what sealing here raises): slower, never lost, never different.

Wire format (little-endian), no pickle:
    parent -> child, once:  u8 n | n x 32-byte public key
    child -> parent, once:  b"R" (ready)
    parent -> child:        u32 plaintext length | u32 associated data length | both
    child -> parent:        u8 status (0 sealed, 1 refused) | u32 blob length | blob
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import os
import struct
import sys
from pathlib import Path

from storage.sealing import RecipientKey, SealError, seal

log = logging.getLogger(__name__)

READY = b"R"
SEALED, REFUSED = 0, 1
_REQUEST = struct.Struct("<II")
_RESPONSE = struct.Struct("<BI")
PIPE_SIZE = 1 << 20  # bytes of sealed answers the child can write ahead (see _widen_pipe)
STOP_GRACE = 5.0  # seconds the helper gets to finish before it is killed
SEND_EVERY = 8  # requests written to the pipe at once (each write costs a system call)
# Passed on to the child: how to find Python and its libraries, nothing else.
INHERITED = ("PATH", "LD_LIBRARY_PATH", "PYTHONHOME", "SYSTEMROOT")


class SealHelper:
    """The parent's side: `seal()` returns a future for the blob."""

    def __init__(self, process: asyncio.subprocess.Process,
                 recipients: tuple[RecipientKey, ...]) -> None:
        self._process = process
        self._recipients = recipients
        # In the order sent: the child answers one request after the other.
        self._pending: collections.deque[tuple[bytes, bytes, asyncio.Future[bytes]]] = (
            collections.deque())
        self.ready = False  # the child has loaded and read the keys
        self.alive = True
        self.sealed = 0  # answers the child has sealed
        self._settled = asyncio.Event()  # set once the child is ready, or gone
        self._outgoing = bytearray()  # requests not yet written to the pipe
        self._unsent = 0
        self._flush_soon: asyncio.Handle | None = None
        self._reader = asyncio.create_task(self._read_loop(), name="seal-helper")

    @property
    def pid(self) -> int:
        return self._process.pid

    @property
    def returncode(self) -> int | None:
        """The child's exit status once it has ended (0: stopped as asked)."""
        return self._process.returncode

    async def wait_ready(self) -> bool:
        """True once the child is ready to seal; False if it ended before that."""
        await self._settled.wait()
        return self.ready

    @classmethod
    async def start(cls, recipients: tuple[RecipientKey, ...]) -> SealHelper | None:
        """The helper, started; None if it cannot be (sealing then stays in this process)."""
        try:
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-I", "-c", _CHILD_MAIN,
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.DEVNULL, env=_child_environment(),
            )
        except (OSError, NotImplementedError, RuntimeError) as exc:  # no subprocesses here
            log.warning("seal_helper_not_started error=%s", type(exc).__name__)
            return None
        assert process.stdin is not None
        process.stdin.write(bytes([len(recipients)]) + b"".join(r.raw for r in recipients))
        return cls(process, recipients)

    def seal(self, plaintext: bytes, associated_data: bytes) -> asyncio.Future[bytes]:
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        stdin = self._process.stdin
        if not self.alive or stdin is None or stdin.is_closing():
            self._seal_here(plaintext, associated_data, future)
            return future
        self._pending.append((plaintext, associated_data, future))
        self._outgoing += _REQUEST.pack(len(plaintext), len(associated_data))
        self._outgoing += plaintext
        self._outgoing += associated_data
        self._unsent += 1
        # Requests go out a few at a time, and the rest when this turn of the event loop
        # ends: the child starts on the first ones while the loop is still busy.
        if self._unsent >= SEND_EVERY:
            self._flush()
        elif self._flush_soon is None:
            self._flush_soon = asyncio.get_running_loop().call_soon(self._flush)
        return future

    def _flush(self) -> None:
        if self._flush_soon is not None:
            self._flush_soon.cancel()
            self._flush_soon = None
        stdin = self._process.stdin
        if self._outgoing and stdin is not None and not stdin.is_closing():
            stdin.write(bytes(self._outgoing))
        self._outgoing.clear()
        self._unsent = 0

    def abandon(self) -> None:
        """End a helper that stopped answering: what it held is sealed here instead."""
        log.warning("seal_helper_abandoned pending=%d", len(self._pending))
        with contextlib.suppress(ProcessLookupError):
            self._process.kill()

    async def stop(self) -> None:
        """Let the child finish what it was given, then end it."""
        self._flush()
        stdin = self._process.stdin
        if stdin is not None and not stdin.is_closing():
            stdin.close()  # the child stops at the end of its input
        try:
            await asyncio.wait_for(asyncio.shield(self._reader), STOP_GRACE)
            await asyncio.wait_for(self._process.wait(), STOP_GRACE)
        except TimeoutError:
            log.warning("seal_helper_killed")
            with contextlib.suppress(ProcessLookupError):
                self._process.kill()
            await self._process.wait()
            await self._reader

    async def _read_loop(self) -> None:
        stdout = self._process.stdout
        assert stdout is not None
        try:
            if await stdout.readexactly(1) != READY:
                raise ValueError("the seal helper did not start as expected")
            self.ready = True
            self._settled.set()
            while True:
                status, length = _RESPONSE.unpack(await stdout.readexactly(_RESPONSE.size))
                blob = await stdout.readexactly(length) if length else b""
                plaintext, associated_data, future = self._pending.popleft()
                if status == SEALED:
                    self.sealed += 1
                    if not future.done():
                        future.set_result(blob)
                elif status == REFUSED:
                    self._seal_here(plaintext, associated_data, future)
                else:
                    raise ValueError("the seal helper sent an unknown status")
        except asyncio.IncompleteReadError:  # the child ended
            if self._pending:
                log.warning("seal_helper_stopped pending=%d", len(self._pending))
        except (ValueError, IndexError, ConnectionError) as exc:  # it broke the protocol
            log.warning("seal_helper_failed error=%s pending=%d", type(exc).__name__,
                        len(self._pending))
            with contextlib.suppress(ProcessLookupError):
                self._process.kill()
        finally:
            # Whatever the child had not answered is sealed here: nothing waits forever.
            self.alive = False
            self._settled.set()
            while self._pending:
                self._seal_here(*self._pending.popleft())

    def _seal_here(self, plaintext: bytes, associated_data: bytes,
                   future: asyncio.Future[bytes]) -> None:
        if future.done():
            return
        try:
            future.set_result(seal(plaintext, self._recipients, associated_data))
        except (SealError, ValueError) as exc:
            future.set_exception(exc)


# Isolated mode (-I): neither the working directory nor PYTHONPATH is on the child's path,
# so a `storage/` folder wherever the bot was started cannot stand in for this module. Only
# the folder this very file came from is added, by absolute path.
_CHILD_MAIN = (
    f"import sys; sys.path.insert(0, {str(Path(__file__).resolve().parent.parent)!r}); "
    "from storage.sealer import serve; sys.exit(serve())"
)


def _child_environment() -> dict[str, str]:
    """Only what starting Python may need: the bot's environment can hold its secrets."""
    return {name: os.environ[name] for name in INHERITED if name in os.environ}


# -- the child --------------------------------------------------------------------------
def serve(read_fd: int = 0, write_fd: int = 1) -> int:
    """Seal requests from `read_fd` until it ends; answers go to `write_fd`."""
    _widen_pipe(write_fd)
    buffer = bytearray()
    if not _fill(read_fd, buffer, 1):
        return 0
    count = buffer[0]
    if not _fill(read_fd, buffer, 1 + 32 * count):
        return 0
    recipients = tuple(RecipientKey(bytes(buffer[1 + 32 * i:33 + 32 * i]))
                       for i in range(count))
    del buffer[:1 + 32 * count]
    _write_all(write_fd, READY)
    while True:
        if not _fill(read_fd, buffer, _REQUEST.size):
            return 0
        plain_length, data_length = _REQUEST.unpack_from(buffer)
        end = _REQUEST.size + plain_length + data_length
        if not _fill(read_fd, buffer, end):
            return 0
        plaintext = bytes(buffer[_REQUEST.size:_REQUEST.size + plain_length])
        associated_data = bytes(buffer[_REQUEST.size + plain_length:end])
        del buffer[:end]
        try:
            blob = seal(plaintext, recipients, associated_data)
        except (SealError, ValueError):
            _write_all(write_fd, _RESPONSE.pack(REFUSED, 0))  # the parent raises it itself
        else:
            _write_all(write_fd, _RESPONSE.pack(SEALED, len(blob)) + blob)


def _widen_pipe(fd: int) -> None:
    """Room for a burst of answers while the bot's event loop is busy (Linux only; elsewhere
    the default pipe is merely slower)."""
    try:
        import fcntl
    except ImportError:
        return
    set_size = getattr(fcntl, "F_SETPIPE_SZ", None)
    if set_size is not None:
        with contextlib.suppress(OSError):
            fcntl.fcntl(fd, set_size, PIPE_SIZE)


def _fill(fd: int, buffer: bytearray, size: int) -> bool:
    """Read until `buffer` holds `size` bytes; False at the end of the input."""
    while len(buffer) < size:
        chunk = os.read(fd, max(1 << 16, size - len(buffer)))
        if not chunk:
            return False
        buffer += chunk
    return True


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


if __name__ == "__main__":
    sys.exit(serve())
