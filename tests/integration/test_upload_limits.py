"""Multipart uploads are bounded while they stream: the answer comes before the body is
read to its end, whichever part is too large, and nothing is stored."""

import dataclasses

import pytest

from app.factory import create_app
from registry.tables import OutcomeReport
from tests.conftest import bearer, org_key
from tests.support.asgi import serve

URL = "/api/v1/outcome-reports"
LIMIT = 64 * 1024
CHUNK = 8 * 1024


class ChunkedBody:
    """A multipart body sent chunked (no Content-Length), counting what was read."""

    def __init__(self, parts: list[tuple[bytes, int]]) -> None:
        self.parts = parts  # (part headers, size of the part's filler content)
        self.sent = 0
        self.total = sum(len(head) + size + 2 for head, size in parts) + 8

    async def __aiter__(self):
        for head, size in self.parts:
            for chunk in (b"--XX\r\n" + head + b"\r\n\r\n", *self._filler(size), b"\r\n"):
                self.sent += len(chunk)
                yield chunk
        self.sent += 8
        yield b"--XX--\r\n"

    @staticmethod
    def _filler(size: int):
        for start in range(0, size, CHUNK):
            yield b"x" * min(CHUNK, size - start)


PLAIN_FILE_FIELD = b'Content-Disposition: form-data; name="file"'
FILE_PART = b'Content-Disposition: form-data; name="file"; filename="r.csv"'
OTHER_FIELD = b'Content-Disposition: form-data; name="note"'


@pytest.mark.parametrize(
    ("parts", "status"),
    [
        ([(PLAIN_FILE_FIELD, 3 * LIMIT)], 400),
        ([(OTHER_FIELD, 3 * LIMIT), (FILE_PART, 100)], 413),
        ([(FILE_PART, 3 * LIMIT)], 413),
    ],
    ids=["plain-field-named-file", "large-other-field", "large-file"],
)
async def test_a_multipart_body_is_refused_before_it_is_read_to_its_end(
    db, settings, parts, status
):
    small = dataclasses.replace(settings, outcome_upload_max_bytes=LIMIT)
    async with serve(create_app(small, engine_bound=True, run_jobs=False)) as client:
        institution, key = await org_key("training_institution")
        body = ChunkedBody(parts)
        response = await client.post(
            URL,
            content=body,
            headers={**bearer(key), "content-type": "multipart/form-data; boundary=XX"},
        )
        assert response.status_code == status, response.text
        assert response.json()["errors"][0]["field"] == "file"
        assert body.sent <= LIMIT + 2 * CHUNK < body.total
        stored = OutcomeReport.count().where(OutcomeReport.institution == institution["id"])
        assert await stored.run() == 0


async def test_a_malformed_multipart_body_is_400_naming_the_file(client):
    _, key = await org_key("training_institution")
    for content_type, content in (
        ("multipart/form-data; boundary=XX", b"--XX\r\n" + FILE_PART + b"\r\n\r\nunfinished"),
        ("multipart/form-data", b"no boundary"),
        ("multipart/form-data; boundary=XX", b"--XX\r\n" + OTHER_FIELD + b"\r\n\r\nx\r\n--XX--"),
    ):
        response = await client.post(
            URL, content=content, headers={**bearer(key), "content-type": content_type}
        )
        assert response.status_code == 400, (content, response.text)
        assert response.json()["errors"][0]["field"] == "file"
