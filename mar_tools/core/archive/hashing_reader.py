"""One pass over an archive file that hashes every byte while something else consumes them.

Extraction reads the archive once, from its first byte to its last, through a
:class:`HashingReader`: the extractor takes the bytes it needs (local headers, entry data,
the tar.gz stream) and the reader hashes *all* of them in the same order, so the digest
that names the extraction is the digest of exactly the bytes it was made from, read from
one descriptor.

Hashing runs in a background thread on the same buffers (``hashlib`` and ``blake3``
release the GIL on large updates, as do ``pread``, the CRC, inflating and writing), so on a
machine with two cores hashing a 1 GiB archive costs little more wall time than extracting
it. A small ring of buffers is reused: memory stays at ``depth * block`` bytes whatever the
archive's size (and less for an archive smaller than a block).

A consumer may also move the file's bytes itself (a kernel copy of a stored entry,
:mod:`.kernel_copy`): it takes what the reader already buffered (:meth:`HashingReader.
buffered`), then hands over, in order, views of the bytes it placed (:meth:`HashingReader.
hand_over`), which are hashed in their turn, as read back from where they were placed.
The algorithm is :func:`~.archive_hash.preferred_algorithm`'s unless one is asked for.
"""

from __future__ import annotations

import io
import queue
import threading
from collections.abc import Callable, Iterator
from typing import Final

from mar_tools.core.archive.archive_file import ArchiveFile
from mar_tools.core.archive.archive_hash import ArchiveHash, new_hash, preferred_algorithm

BLOCK: Final = 4 << 20
DEPTH: Final = 4
#: What the hashing thread is given: bytes, what else to do with them, and what to call
#: once it is done with them.
_Item = tuple[memoryview, "Callable[[memoryview], object] | None", "Callable[[], None]"]


class HashingReader(io.RawIOBase):
    """The bytes of *file* from offset 0 to its end, in order, each hashed once (with
    *algorithm*, by default the preferred one: :attr:`algorithm`).

    Consumers read with :meth:`read_exactly` (small records), :meth:`chunks` (large runs,
    as views into the reader's buffers, each valid until the next one is asked for) or as
    an unbuffered raw stream (:meth:`readinto`, for gzip). :meth:`finish` reads the rest,
    hashes it and returns the hex digest. With *hashing* False nothing is hashed and
    :meth:`finish` returns "".
    """

    def __init__(
        self,
        file: ArchiveFile,
        *,
        hashing: bool = True,
        algorithm: str | None = None,
        block: int = BLOCK,
        depth: int = DEPTH,
    ) -> None:
        super().__init__()
        self._raw = file.reader()
        #: The archive's descriptor (for a consumer that copies bytes itself).
        self.fd = file.fd
        # A small archive gets small buffers (never more than it needs, plus one read that
        # finds the end).
        block = max(min(block, file.size + 1), 1)
        self._buffers = [bytearray(block) for _ in range(depth)]
        self._free = [threading.Event() for _ in range(depth)]
        for event in self._free:
            event.set()
        self._next = 0
        self._current = memoryview(b"")
        self._offset = 0  # of the unread bytes in the current buffer
        self.position = 0  # bytes handed to consumers so far
        #: The hash's name ("" when not hashing).
        self.algorithm = (algorithm or preferred_algorithm()) if hashing else ""
        self._digest: ArchiveHash | None = new_hash(self.algorithm) if hashing else None
        # Views handed over by a consumer that are not hashed yet (at most *depth*).
        self._handed = threading.Semaphore(depth)
        self._queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._failure: BaseException | None = None

    def readable(self) -> bool:
        return True

    def _fill(self) -> bool:
        """Read the next block into the next free buffer; False at the end of the file."""
        index = self._next
        self._free[index].wait()
        buffer = self._buffers[index]
        count = self._raw.readinto(buffer)
        if not count:
            self._current = memoryview(b"")
            return False
        self._next = (index + 1) % len(self._buffers)
        if self._digest is not None:
            self._free[index].clear()
            self._start_hashing()
            self._queue.put((memoryview(buffer)[:count], None, self._free[index].set))
        self._current = memoryview(buffer)[:count]
        self._offset = 0
        return True

    def _take(self, limit: int) -> memoryview:
        """Up to *limit* of the next bytes (a view into a buffer; empty at the end)."""
        if self._offset >= len(self._current) and not self._fill():
            return memoryview(b"")
        piece = self._current[self._offset : self._offset + limit]
        self._offset += len(piece)
        self.position += len(piece)
        return piece

    def chunks(self, count: int) -> Iterator[memoryview]:
        """The next *count* bytes in pieces (fewer when the file ends first)."""
        left = count
        while left > 0:
            piece = self._take(left)
            if not piece:
                return
            left -= len(piece)
            yield piece

    def buffered(self, count: int) -> Iterator[memoryview]:
        """Up to *count* of the next bytes, only those already read from the file, in
        pieces; afterwards, unless *count* bytes were taken, none is buffered."""
        left = count
        while left > 0 and self._offset < len(self._current):
            piece = self._take(left)
            left -= len(piece)
            yield piece

    def hand_over(
        self, view: memoryview, also: Callable[[memoryview], object] | None = None
    ) -> None:
        """Take *view*, the caller's copy of the next ``len(view)`` bytes of the file (none
        may be buffered: see :meth:`buffered`), as read: it is hashed in its turn on the
        hashing thread, which then calls *also* with it (kept until then; at most *depth*
        views wait), and the reader moves past those bytes. :meth:`settle` waits for them."""
        if self._offset < len(self._current):
            raise RuntimeError("bytes handed over while others are still buffered")
        if self._digest is not None or also is not None:
            self._handed.acquire()
            self._start_hashing()
            self._queue.put((view, also, self._handed.release))
        self.position += len(view)
        self._raw.seek(self.position)

    def settle(self) -> None:
        """Wait until everything handed over so far was hashed (and its *also* called);
        re-raise what failed on the hashing thread."""
        if self._thread is not None:
            settled = threading.Event()
            self._queue.put((memoryview(b""), None, settled.set))
            settled.wait()
        if self._failure is not None:
            raise self._failure

    def read_exactly(self, count: int) -> bytes:
        """The next *count* bytes as a copy (fewer only when the file ends first)."""
        return b"".join(bytes(piece) for piece in self.chunks(count))

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        piece = self._take(len(buffer))
        memoryview(buffer)[: len(piece)] = piece
        return len(piece)

    def finish(self) -> str:
        """Read to the end of the file, wait for the hashing, and return the hex digest of
        every byte read ("" when not hashing)."""
        while self._take(1 << 30):
            pass
        self._stop()
        if self._failure is not None:
            raise self._failure
        return "" if self._digest is None else self._digest.hexdigest()

    def close(self) -> None:
        self._stop()
        self._raw.close()
        super().close()

    def _start_hashing(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._hash, name="mar-archive-hash", daemon=True)
            self._thread.start()

    def _stop(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None

    def _hash(self) -> None:
        while (item := self._queue.get()) is not None:
            view, also, done = item
            del item
            try:
                if self._digest is not None:
                    self._digest.update(view)
                if also is not None:
                    also(view)
            except BaseException as exc:  # handed to the reader's thread by settle/finish
                self._failure = self._failure or exc
            finally:
                del view, also  # a handed-over mapping is unmapped once no one holds it
                done()
