"""Reading an uploaded file from a request: the raw body (`?filename=name.csv`; best for
large files) or the multipart/form-data field `file`. Shared by every route that takes a
file (outcome reports, internship month files, claim files); those routes lift Litestar's
body limit, so both ways count the bytes here while they stream in."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

from litestar import Request
from multipart import MultipartError, MultipartSegment, PushMultipartParser

from kernel.errors import InvalidInput, TooLarge
from kernel.filenames import stored

# Other parts of a multipart body are skipped unread; their headers are held to this.
MAX_PART_HEADER_BYTES = 4096
MAX_PARTS = 16

Event = MultipartSegment | bytes | bytearray | None  # a part's headers, data, or its end


async def uploaded_file_chunks(
    request: Request[Any, Any, Any], limit: int, filename: str | None = None
) -> tuple[AsyncIterator[bytes], str]:
    """The file's bytes as chunks, and its name as stored (kernel.filenames): `filename`
    (the route's bounded query parameter) for a raw body, the part's for multipart. A
    declared length over `limit` is 413 at once; otherwise the body is counted as it
    arrives (it may not declare a length)."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    body = _bounded(request.stream(), limit)
    content_type, options = request.content_type
    if content_type == "multipart/form-data":
        boundary = options.get("boundary")
        if not boundary:
            raise InvalidInput.single("file", "multipart body without a boundary 缺少分隔符")
        chunks, name = await multipart_file(body, boundary.encode("latin-1", "replace"))
        return chunks, stored(name)
    return body, stored(filename)


async def multipart_file(
    body: AsyncIterator[bytes], boundary: bytes
) -> tuple[AsyncIterator[bytes], str]:
    """Reads a multipart body up to the part named `file` and answers its bytes as they
    stream in (nothing is spooled or buffered), and its file name. Parts before it are
    skipped; a plain form field named `file`, with no file name, is refused."""
    events = _events(body, boundary)
    async for event in events:
        if isinstance(event, MultipartSegment) and event.name == "file":
            if event.filename is None:
                await events.aclose()
                raise InvalidInput.single(
                    "file",
                    "must be a file part (Content-Disposition with a filename), not a plain "
                    "form field 应上传文件，而不是普通表单字段",
                )
            return _part_data(events), event.filename
    raise InvalidInput.single("file", "multipart upload needs a field named file 缺少 file 字段")


async def _part_data(
    events: AsyncIterator[MultipartSegment | bytes | None],
) -> AsyncIterator[bytes]:
    async for event in events:
        if event is None:  # the end of the file part; the rest of the body is not read
            break
        if isinstance(event, bytes | bytearray):
            yield bytes(event)


async def _events(body: AsyncIterator[bytes], boundary: bytes) -> AsyncGenerator[Event, None]:
    try:
        with PushMultipartParser(
            boundary, max_header_size=MAX_PART_HEADER_BYTES, max_segment_count=MAX_PARTS
        ) as parser:
            async for chunk in body:
                if chunk:
                    for event in parser.parse(chunk):
                        yield event
                if parser.closed:
                    return
            for event in parser.parse(b""):  # end of input: an unfinished body raises
                yield event
    except MultipartError as exc:
        raise InvalidInput.single("file", f"malformed multipart body 格式错误: {exc}") from None


async def _bounded(chunks: AsyncIterator[bytes], limit: int) -> AsyncIterator[bytes]:
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        yield chunk


def _too_large(limit: int) -> TooLarge:
    return TooLarge(f"the file is larger than {limit} bytes 文件过大", field="file")
