"""One worker process, driven from the server's event loop.

The worker is ``mar run``'s worker (``mar_tools/worker/entry.py`` in the model's
interpreter, started the same way: model directory as working directory, TorchServe's
environment, its own process group) and speaks the same framed messages over two pipes;
here the pipes are read and written by asyncio instead of threads. The worker's own output
(handler prints and logs) is read line by line and handed to *on_output*.

The worker holding the only write end of its answer pipe, end of file on that pipe means
the worker died: every call waiting for an answer then raises :class:`WorkerGone`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path

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


class WorkerGone(Exception):
    """The worker ended (or its pipe broke) before answering."""


class WorkerLink:
    """A running worker and its two pipes. Always end with :meth:`kill`.

    One task reads the worker's answers for as long as it lives; :meth:`exchange` sends a
    message and waits for the next answer. :attr:`dead` is set when the answer pipe ends,
    and *on_death* (given to :meth:`start`) is called once at that moment.
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
        self._waiter: asyncio.Future[FromWorker] | None = None
        #: Receives the :class:`Streamed` messages of the batch in flight.
        self.on_stream: Callable[[Streamed], None] | None = None
        self._reader_task: asyncio.Task[None] | None = None
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
            process, parent_out, parent_in = spawn_worker(python, env, model_dir, output_write)
        except BaseException:
            os.close(output_read)
            raise
        finally:
            os.close(output_write)
        reader = asyncio.StreamReader(limit=1 << 20)
        await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(parent_in, "rb", 0)
        )
        writer, _ = await loop.connect_write_pipe(asyncio.Protocol, os.fdopen(parent_out, "wb", 0))
        output = asyncio.StreamReader(limit=1 << 20)
        await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(output), os.fdopen(output_read, "rb", 0)
        )
        link = cls(process, writer, asyncio.create_task(_forward_output(output, on_output)))
        link._reader_task = asyncio.create_task(link._read_loop(reader, on_death))
        return link

    def send(self, message: ToWorker) -> None:
        """Queue one message to the worker (the transport writes it as the pipe drains)."""
        if self.dead.is_set() or self._writer.is_closing():
            raise WorkerGone(self.reason or "the worker's input pipe is closed")
        self._writer.writelines(frame(*message.to_json()))

    async def exchange(self, message: ToWorker) -> FromWorker:
        """Send one message and wait for the answer; :class:`WorkerGone` if it dies first.

        One exchange at a time (the pool sends a worker one batch at a time).
        """
        assert self._waiter is None, "one exchange at a time"
        waiter = asyncio.get_running_loop().create_future()
        self._waiter = waiter
        try:
            self.send(message)
            answer: FromWorker = await waiter
            return answer
        finally:
            self._waiter = None

    async def _read_loop(self, reader: asyncio.StreamReader, on_death: Callable[[], None]) -> None:
        try:
            while True:
                message = await _read_message(reader)
                if isinstance(message, Streamed):
                    if self.on_stream is not None:
                        self.on_stream(message)
                    continue
                waiter = self._waiter
                if waiter is not None and not waiter.done():
                    waiter.set_result(message)
        except WorkerGone as exc:
            self.reason = str(exc)
        finally:
            self.dead.set()
            waiter = self._waiter
            if waiter is not None and not waiter.done():
                waiter.set_exception(WorkerGone(self.reason or "the worker ended"))
            on_death()

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
        with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
            await asyncio.wait_for(asyncio.shield(self._output_task), 1.0)
        self._output_task.cancel()
        if self._reader_task is not None:
            with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.shield(self._reader_task), 1.0)
            self._reader_task.cancel()


async def _read_message(reader: asyncio.StreamReader) -> FromWorker:
    """One framed message (see :mod:`mar_tools.worker.wire`), decoded; :class:`WorkerGone`
    at the end of the stream or for a message that is not one of the worker's."""
    try:
        prefix = await reader.readexactly(PREFIX_SIZE)
        header, sizes = parse_header(await reader.readexactly(header_length(prefix)))
        blobs = [await reader.readexactly(size) for size in sizes]
        message = decode(header, blobs)
    except (MessageError, WireError) as exc:
        raise WorkerGone(f"unreadable message from the worker: {exc}") from None
    except (asyncio.IncompleteReadError, ConnectionError, ValueError) as exc:
        raise WorkerGone(
            "the worker's answer pipe ended"
            if isinstance(exc, asyncio.IncompleteReadError)
            else str(exc)
        ) from None
    if isinstance(message, (LoadRequest, Predict)):
        raise WorkerGone("the worker sent a parent's message")
    return message


async def _forward_output(stream: asyncio.StreamReader, on_output: Callable[[str], None]) -> None:
    while True:
        try:
            line = await stream.readline()
        except (ValueError, asyncio.LimitOverrunError):
            continue  # a line longer than the limit: skip it rather than stop forwarding
        if not line:
            return
        on_output(line.decode("utf-8", "replace").rstrip("\n"))
