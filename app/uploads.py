"""Reading an uploaded file from a request: the raw body (`?filename=name.csv`; streamed,
best for large files) or the multipart/form-data field `file`. Shared by every route
that takes a file (outcome reports, internship month files, claim files)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from litestar import Request

from kernel.errors import InvalidInput, TooLarge


async def uploaded_file_chunks(
    request: Request[Any, Any, Any], limit: int
) -> tuple[AsyncIterator[bytes], str]:
    """The file's bytes as chunks, and its name. A declared length over `limit` is 413
    at once; the receiver counts the bytes too (a body may not declare its length)."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise TooLarge(f"the file is larger than {limit} bytes 文件过大", field="file")
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        form = await request.form()
        upload = form.get("file")
        if upload is None or not hasattr(upload, "read"):
            raise InvalidInput.single("file", "multipart upload needs a field named file")

        async def parts() -> AsyncIterator[bytes]:
            while chunk := await upload.read(1 << 20):
                yield chunk

        return parts(), upload.filename or ""
    return request.stream(), request.query_params.get("filename", "")
