"""One worker process, driven from the server's event loop.

The worker is ``mar run``'s worker (``mar_tools/worker/entry.py`` in the model's
interpreter, started the same way: model directory as working directory, TorchServe's
environment, its own process group) and speaks the same framed messages over two pipes;
here the pipes are read and written by asyncio instead of threads. The worker's own output
(handler prints and logs) is read line by line and handed to *on_output*.

Answers are read by a protocol (:class:`_AnswerReader`) that decodes each message as soon as
its last byte is in and hands it over at once, without a reading task in between. Several
messages may be in flight: the worker answers them in the order it received them, so each
answer goes to the oldest waiting :meth:`WorkerLink.submit`.

The worker holding the only write end of its answer pipe, end of file on that pipe means
the worker died: every call waiting for an answer then raises :class:`WorkerGone`.

Each pipe end belongs to exactly one owner, which closes it exactly once: its transport, and
:meth:`WorkerLink.kill` closes all three transports (never the garbage collector). A
descriptor closed twice is a live descriptor of someone else closed once: another worker's
pipe, a client's connection, a file the preparation thread just opened. uvloop's pipe
transports close the descriptor themselves and then close the file object they were given
too, so they get a :class:`_LoopOwned` end, whose ``close`` does nothing; the standard
loop's transports close only the file object, so they get a plain one (:func:`_pipe_end`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from mar_tools.run.process import spawn_worker
from mar_tools.worker.messages import (
    FromWorker,
    LoadRequest,
    MessageError,
    Predict,
    Streamed,
    ToWorker,
    decode,
)
from mar_tools.worker.wire import PREFIX_SIZE, WireError, frame, header_length, parse_header

_PIPE_ENDED = "the worker's answer pipe ended"


class WorkerGone(Exception):
    """The worker ended (or its pipe broke) before answering."""


class WorkerLink:
    """A running worker and its two pipes. Always end with :meth:`kill`.

    :meth:`submit` sends a message and returns the future of its answer (:meth:`exchange`
    waits for it); :attr:`dead` is set when the answer pipe ends, and *on_death* (given to
    :meth:`start`) is called once at that moment.
    """

    def __init__(
        self,
        process: subprocess.Popen[bytes],
        writer: asyncio.WriteTransport,
        output_task: asyncio.Task[None],
    ) -> None:
        self.process = process
        self._writer = writer
        self._output_task = output_task
        #: The answers still owed, oldest first (a cancelled caller's future stays in line:
        #: the worker answers that message all the same).
        self._waiters: deque[asyncio.Future[FromWorker]] = deque()
        #: Receives the :class:`Streamed` messages of the batch in flight.
        self.on_stream: Callable[[Streamed], None] | None = None
        self._on_death: Callable[[], None] = lambda: None
        self._reader: asyncio.ReadTransport | None = None
        #: Our end of the worker's lifeline (closed once it has ended).
        self._lifeline = -1
        #: The transport of the worker's output pipe (closed by :meth:`kill`: after end of
        #: file uvloop leaves it open, for a stream protocol asks to keep it).
        self._output: asyncio.BaseTransport | None = None
        #: The frames sent inside :meth:`one_write`, not written yet.
        self._held: list[bytes] | None = None
        self.dead = asyncio.Event()
        self.reason = ""

    @property
    def pid(self) -> int:
        return self.process.pid

    @classmethod
    async def start(
        cls,
        python: Path,
        env: Mapping[str, str],
        model_dir: Path,
        on_output: Callable[[str], None],
        on_death: Callable[[], None] = lambda: None,
    ) -> WorkerLink:
        """Start a worker for the model in *model_dir* with interpreter *python*."""
        loop = asyncio.get_running_loop()
        output_read, output_write = os.pipe()
        try:
            process, parent_out, parent_in, lifeline = spawn_worker(
                python, env, model_dir, output_write
            )
        except BaseException:
            os.close(output_read)
            raise
        finally:
            os.close(output_write)
        # Until a transport owns a descriptor, this frame closes it (once) on failure.
        unowned = {parent_out, output_read, parent_in}
        transports: list[asyncio.BaseTransport] = []
        try:
            writer, _ = await loop.connect_write_pipe(
                asyncio.Protocol, _pipe_end(loop, parent_out, "wb")
            )
            unowned.discard(parent_out)
            transports.append(writer)
            output = asyncio.StreamReader(limit=1 << 20)
            output_transport, _ = await loop.connect_read_pipe(
                lambda: asyncio.StreamReaderProtocol(output), _pipe_end(loop, output_read, "rb")
            )
            unowned.discard(output_read)
            transports.append(output_transport)
            link = cls(process, writer, asyncio.create_task(_forward_output(output, on_output)))
            link._output = output_transport
            link._lifeline = lifeline
            link._on_death = on_death
            link._reader, _ = await loop.connect_read_pipe(
                lambda: _AnswerReader(link._answer, link._ended), _pipe_end(loop, parent_in, "rb")
            )
        except BaseException:
            for transport in transports:
                transport.close()
            for fd in unowned:
                os.close(fd)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            os.close(lifeline)
            raise
        return link

    def send(self, message: ToWorker) -> None:
        """Queue one message to the worker (the transport writes it as the pipe drains;
        inside :meth:`one_write`, when that ends)."""
        if self.dead.is_set() or self._writer.is_closing():
            raise WorkerGone(self.reason or "the worker's input pipe is closed")
        if self._held is not None:
            self._held += frame(*message.to_json())
        else:
            self._writer.writelines(frame(*message.to_json()))

    @contextlib.contextmanager
    def one_write(self) -> Iterator[None]:
        """The messages sent inside go to the pipe together, in one write, when it ends."""
        if self._held is not None:  # already inside one: the outer one writes
            yield
            return
        self._held = []
        try:
            yield
        finally:
            held, self._held = self._held, None
            if held and not self._writer.is_closing():
                self._writer.writelines(held)

    def submit(self, message: ToWorker) -> asyncio.Future[FromWorker]:
        """Send one message; the future gets the worker's answer to it, or :class:`WorkerGone`
        if the worker dies first. Raises :class:`WorkerGone` when it is dead already."""
        self.send(message)
        waiter: asyncio.Future[FromWorker] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        return waiter

    async def exchange(self, message: ToWorker) -> FromWorker:
        """Send one message and wait for the answer; :class:`WorkerGone` if it dies first."""
        return await self.submit(message)

    def _answer(self, message: FromWorker) -> None:
        if isinstance(message, Streamed):
            if self.on_stream is not None:
                self.on_stream(message)
            return
        if self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(message)

    def _ended(self, reason: str) -> None:
        if self.dead.is_set():
            return
        self.reason = reason
        self.dead.set()
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_exception(WorkerGone(reason or "the worker ended"))
        self._on_death()

    def exit_description(self) -> str:
        """How the worker ended, for log messages."""
        code = self.process.poll()
        if code is None:
            return "it stopped answering"
        if code < 0:
            with contextlib.suppress(ValueError):
                return f"it was killed by {signal.Signals(-code).name}"
            return f"it was killed by signal {-code}"
        return f"it exited with status {code}"

    async def kill(self, grace: float = 0.0) -> None:
        """End the worker's process group (after *grace* seconds for a clean exit)."""
        with contextlib.suppress(Exception):
            self._writer.close()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace
        while self.process.poll() is None and loop.time() < deadline:
            await asyncio.sleep(0.02)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        while self.process.poll() is None:
            await asyncio.sleep(0.01)
        if self._lifeline >= 0:
            os.close(self._lifeline)
            self._lifeline = -1
        with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
            await asyncio.wait_for(asyncio.shield(self._output_task), 1.0)
        self._output_task.cancel()
        if self._output is not None:
            self._output.close()
        with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
            await asyncio.wait_for(self.dead.wait(), 1.0)
        if self._reader is not None:
            self._reader.close()
        self._ended(self.reason or _PIPE_ENDED)


class _LoopOwned:
    """A pipe end handed to a loop whose transport closes the descriptor itself (uvloop):
    ``fileno`` for the transport, and a ``close`` that leaves the descriptor alone, since
    by the time the transport calls it the number may already be someone else's."""

    def __init__(self, fd: int) -> None:
        self._fd = fd

    def fileno(self) -> int:
        return self._fd

    def close(self) -> None:
        """Nothing: the transport closed the descriptor already."""


def _pipe_end(loop: asyncio.AbstractEventLoop, fd: int, mode: str) -> Any:
    """What to hand ``connect_*_pipe`` for *fd* so that exactly one close happens (see the
    module docstring): a :class:`_LoopOwned` end for uvloop, a file object otherwise."""
    if type(loop).__module__.partition(".")[0] == "uvloop":
        return _LoopOwned(fd)
    return os.fdopen(fd, mode, 0)


class _AnswerReader(asyncio.Protocol):
    """Decodes the framed messages (see :mod:`mar_tools.worker.wire`) of the answer pipe as
    they complete and hands each to *deliver*; calls *ended* once with the reason when the
    pipe ends or carries something that is not a message of the worker's."""

    def __init__(self, deliver: Callable[[FromWorker], None], ended: Callable[[str], None]) -> None:
        self._deliver = deliver
        self._ended = ended
        self._buffer = bytearray()
        #: The header of the message whose blobs are still coming, its blob sizes and the
        #: offset just after the header.
        self._pending: tuple[dict[str, object], list[int], int] | None = None
        self._transport: asyncio.BaseTransport | None = None
        self._failure: str | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        if self._failure is not None:
            return
        self._buffer += data
        try:
            while (message := self._next()) is not None:
                self._deliver(message)
        except WorkerGone as exc:
            self._fail(str(exc))
        except (MessageError, WireError) as exc:
            self._fail(f"unreadable message from the worker: {exc}")
        except ValueError as exc:  # a header that is not JSON
            self._fail(str(exc))

    def _next(self) -> FromWorker | None:
        """The next complete message in the buffer (removed from it), or None."""
        buffer = self._buffer
        if self._pending is None:
            if len(buffer) < PREFIX_SIZE:
                return None
            end = PREFIX_SIZE + header_length(buffer[:PREFIX_SIZE])
            if len(buffer) < end:
                return None
            header, sizes = parse_header(buffer[PREFIX_SIZE:end])
            self._pending = (header, sizes, end)
        header, sizes, offset = self._pending
        if len(buffer) < offset + sum(sizes):
            return None
        self._pending = None
        blobs = []
        with memoryview(buffer) as view:
            for size in sizes:
                blobs.append(bytes(view[offset : offset + size]))
                offset += size
        del buffer[:offset]
        message = decode(header, blobs)
        if isinstance(message, (LoadRequest, Predict)):
            raise WorkerGone("the worker sent a parent's message")
        return message

    def _fail(self, reason: str) -> None:
        self._failure = reason
        self._buffer.clear()
        if self._transport is not None:
            self._transport.close()
        self._ended(reason)

    def connection_lost(self, exc: Exception | None) -> None:
        self._ended(self._failure or (str(exc) if exc is not None else _PIPE_ENDED))


async def _forward_output(stream: asyncio.StreamReader, on_output: Callable[[str], None]) -> None:
    while True:
        try:
            line = await stream.readline()
        except (ValueError, asyncio.LimitOverrunError):
            continue  # a line longer than the limit: skip it rather than stop forwarding
        if not line:
            return
        on_output(line.decode("utf-8", "replace").rstrip("\n"))
