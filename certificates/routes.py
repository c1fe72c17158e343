"""Verification (public, rate-limited) and download of stored documents."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from litestar import Controller, MediaType, Request, Response, get, post
from litestar.datastructures import ResponseHeader
from litestar.middleware.rate_limit import RateLimitConfig
from litestar.openapi import ResponseSpec
from litestar.params import Parameter, PathParameter
from litestar.response import Redirect
from litestar.status_codes import HTTP_303_SEE_OTHER

from accounts.guards import anyone_signed_in
from accounts.principal import Principal
from app.auth import PUBLIC_OPT
from app.public_pages import html, wants_html
from certificates import codes, service, verify_page
from kernel.errors import InvalidInput
from kernel.schemas import Output
from kernel.web_params import PRINTABLE, RecordId
from registry.exports import bytes_download

Code = Annotated[str, PathParameter(max_length=64, pattern=PRINTABLE)]

# Per client address, per process: enough for a person checking documents by hand,
# far too few to search an 80-bit code space.
VERIFY_RATE_LIMIT = RateLimitConfig(rate_limit=("minute", 30), store="verify_rate_limit")


class VerificationOut(Output):
    genuine: bool
    code: str
    kind: str | None = None
    title: str | None = None
    issued_at: datetime | None = None
    sha256: str | None = None
    summary: dict[str, Any] | None = None
    # Whether what it attests still holds, read live: {"state": "valid" | "revoked" |
    # "cancelled" | "redeemed" | "expired" | "paid" | "pending" | "on_hold" | "failed" |
    # "void" | "stopped", "zh": ..., "en": ...}
    standing: dict[str, str] | None = None


class FileCheckOut(VerificationOut):
    """`genuine` only when the file is exactly the code's document; `code_found` and the
    document's fields say whether the code itself is one we issued."""

    code_found: bool = False
    matches: bool = False
    uploaded_sha256: str | None = None


class DocumentOut(Output):
    id: int
    kind: str
    subject: str
    code: str
    sha256: str
    size_bytes: int
    created_at: datetime


def _verification(code: str, found: dict[str, Any] | None) -> VerificationOut:
    if found is None:
        return VerificationOut(genuine=False, code=code)
    return VerificationOut(**found)


_JSON_OR_PAGE = "JSON, or the bilingual page to a browser (Accept: text/html)"
_VARY = [ResponseHeader(name="Vary", value="Accept")]  # one URL, JSON or the page


class VerifyController(Controller):
    """`GET /verify/{code}`: is this code on a document we issued, and what does it
    say (masked). `POST /verify/{code}` with the PDF (multipart field `file`, or the
    raw bytes as the body): is this file exactly that document. Both answer JSON, or a
    bilingual HTML page to a browser (Accept: text/html), which is what a QR code
    opens."""

    path = "/verify"
    tags = ["documents"]
    opt = {PUBLIC_OPT: True}
    middleware = [VERIFY_RATE_LIMIT.middleware]

    @get("/", media_type=MediaType.HTML)
    async def entry(
        self, code: Annotated[str | None, Parameter(max_length=64, pattern=PRINTABLE)] = None
    ) -> Response[str] | Redirect:
        """Shows the public page to type a verification code on; with `?code=` it redirects to that
        code's page. The redirect is relative, so it holds behind a path prefix."""
        if code is None or not code.strip():
            return html(verify_page.entry())
        normalised = codes.normalise(code)
        if normalised is None:
            error = "验证码格式不对：16 位字母数字。 A code has 16 letters and digits."
            return html(verify_page.entry(error))
        return Redirect(f"verify/{normalised}", status_code=HTTP_303_SEE_OTHER)

    @get(
        "/{code:str}",
        response_headers=_VARY,
        responses={200: ResponseSpec(VerificationOut, description=_JSON_OR_PAGE)},
    )
    async def verify(
        self, code: Code, request: Request[Any, Any, Any]
    ) -> VerificationOut | Response[str]:
        """Checks a verification code (anyone, no login): whether it is on a document the bureau
        issued and what that document says (masked), as JSON or a page."""
        found = await service.verify(code)
        if wants_html(request):
            return html(verify_page.page(code, found))
        return _verification(code, found)

    @post(
        "/{code:str}",
        status_code=200,
        response_headers=_VARY,
        responses={200: ResponseSpec(FileCheckOut, description=_JSON_OR_PAGE)},
    )
    async def verify_file(
        self, code: Code, request: Request[Any, Any, Any]
    ) -> FileCheckOut | Response[str]:
        """Checks an uploaded PDF against a verification code (anyone, no login): genuine only if it
        is byte for byte the document the code names."""
        content = await _uploaded(request)
        result = await service.verify_file(code, content)
        if wants_html(request):
            found = result if result["code_found"] else None
            return html(verify_page.page(code, found, result["matches"]))
        if not result["code_found"]:
            return FileCheckOut(genuine=False, code=code, uploaded_sha256=result["sha256"])
        return FileCheckOut(**result)


async def _uploaded(request: Request[Any, Any, Any]) -> bytes:
    if request.content_type[0] == "multipart/form-data":
        form = await request.form()
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise InvalidInput.single("file", "send the PDF as the multipart field `file`")
        content = await upload.read()
    else:
        content = await request.body()
    if not content:
        raise InvalidInput.single("file", "the file is empty 文件为空")
    return content


class DocumentController(Controller):
    path = "/api/v1/documents"
    tags = ["documents"]
    guards = [anyone_signed_in]

    @get("/")
    async def list_documents(
        self,
        request: Request[Principal, Any, Any],
        batch_id: int = Parameter(gt=0, le=2**31 - 1),
    ) -> list[DocumentOut]:
        """Lists a disbursement batch's rendered documents: all for finance, auditors and admins,
        its own notices for a payee organisation."""
        rows = await service.list_for_batch(request.user, batch_id)
        return [DocumentOut(**r) for r in rows]

    @get("/{document_id:int}/download", media_type="application/pdf")
    async def download(
        self, document_id: RecordId, request: Request[Principal, Any, Any]
    ) -> Response[bytes]:
        """Downloads a rendered PDF document (audited); 409 if the stored file no longer matches the
        digest recorded when it was written."""
        settings = request.app.state["settings"]
        content, name = await service.for_download(request.user, document_id, settings.data_dir)
        return bytes_download(content, name, "application/pdf")
