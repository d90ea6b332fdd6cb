"""Apple Wallet: the signed .pkpass download and the PassKit web service Apple's devices call
({public_url}/wallet/apple/v1/...), exactly as Apple specifies."""

from __future__ import annotations

import logging
from typing import Any

from litestar import Request, Response, Router, delete, get, post
from litestar.exceptions import NotAuthorizedException, NotFoundException, PermissionDeniedException
from litestar.params import FromPath, FromQuery
from sqlalchemy.ext.asyncio import AsyncSession

from shared.core import Core
from shared.db.models import Member
from shared.ratelimit import rate_limits
from wallet.links import verify_pass_signature
from wallet.passkit_service import (
    LOG_MAX_BODY,
    BadDeviceLog,
    WrongToken,
    device_log_lines,
    member_for_pass,
    pass_data,
    pass_validators,
    register_device,
    serials_updated_since,
    sign_pass,
    unregister_device,
)
from webapp.deps import CoreDep

PKPASS = "application/vnd.apple.pkpass"
device_log_writer = logging.getLogger("loyalty.wallet.device")


def _token(request: Request[Any, Any, Any]) -> str | None:
    header = request.headers.get("authorization", "")
    return header[len("ApplePass ") :] if header.startswith("ApplePass ") else None


def _check_type(core: Core, pass_type: str) -> None:
    if pass_type != core.settings.wallet.apple_pass_type_id:
        raise NotFoundException("Unknown pass type.")


async def _pass_response(
    request: Request[Any, Any, Any], core: Core, session: AsyncSession, member: Member
) -> Response[bytes]:
    """The pass, or 304 when the client's copy is current (If-None-Match / If-Modified-Since): pass
    apps that never register a device keep their card fresh by downloading it again."""
    data = await pass_data(session, core.rules, member)
    validators = pass_validators(core.settings, member, data, core.clock.now())
    headers = {**validators.headers(), "Cache-Control": "no-cache"}
    if validators.not_modified(request.headers.get("if-none-match"), request.headers.get("if-modified-since")):
        return Response(b"", status_code=304, headers=headers)
    return Response(sign_pass(core.settings, data), media_type=PKPASS, headers=headers)


@get("/wallet/apple/{filename:str}", include_in_schema=False)
async def download(
    request: Request[Any, Any, Any],
    core: CoreDep,
    filename: FromPath[str],
    expires: FromQuery[int],
    sig: FromQuery[str],
) -> Response[bytes]:
    """The signed, expiring link from the member API, the cabinet and the bot."""
    serial = filename.removesuffix(".pkpass")
    if not verify_pass_signature(core.settings.secret, serial, expires, sig, core.clock.now()):
        raise PermissionDeniedException("This link is wrong or has expired; ask for a new one.")
    async with core.reading() as session:
        from sqlalchemy import select

        member = (await session.execute(select(Member).where(Member.wallet_serial == serial))).scalar_one_or_none()
        if member is None:
            raise NotFoundException("No such card.")
        return await _pass_response(request, core, session, member)


@post("/v1/devices/{device:str}/registrations/{pass_type:str}/{serial:str}", status_code=201)
async def register(
    request: Request[Any, Any, Any],
    core: CoreDep,
    device: FromPath[str],
    pass_type: FromPath[str],
    serial: FromPath[str],
) -> Response[None]:
    _check_type(core, pass_type)
    try:
        body = await request.json()
    except Exception:
        body = None
    push_token = body.get("pushToken") if isinstance(body, dict) else None
    if not isinstance(push_token, str) or not 0 < len(push_token) <= 200 or len(device) > 128:
        return Response(None, status_code=400)
    async with core.transaction() as session:
        try:
            await member_for_pass(session, serial, _token(request))
        except WrongToken:
            raise NotAuthorizedException("Wrong ApplePass token.") from None
        created = await register_device(session, device, serial, push_token, core.clock.now())
    return Response(None, status_code=201 if created else 200)


@delete("/v1/devices/{device:str}/registrations/{pass_type:str}/{serial:str}", status_code=200)
async def unregister(
    request: Request[Any, Any, Any],
    core: CoreDep,
    device: FromPath[str],
    pass_type: FromPath[str],
    serial: FromPath[str],
) -> None:
    _check_type(core, pass_type)
    async with core.transaction() as session:
        try:
            await member_for_pass(session, serial, _token(request))
        except WrongToken:
            raise NotAuthorizedException("Wrong ApplePass token.") from None
        await unregister_device(session, device, serial)


@get("/v1/devices/{device:str}/registrations/{pass_type:str}")
async def updated_serials(
    core: CoreDep,
    device: FromPath[str],
    pass_type: FromPath[str],
    passesUpdatedSince: FromQuery[str | None] = None,
) -> Response[Any]:
    _check_type(core, pass_type)
    since = None
    if passesUpdatedSince:
        try:
            since = float(passesUpdatedSince)
        except ValueError:
            return Response(None, status_code=400)
    async with core.reading() as session:
        serials, last = await serials_updated_since(session, device, since)
    if not serials:
        return Response(None, status_code=204)
    return Response({"serialNumbers": serials, "lastUpdated": last})


@get("/v1/passes/{pass_type:str}/{serial:str}")
async def latest_pass(
    request: Request[Any, Any, Any],
    core: CoreDep,
    pass_type: FromPath[str],
    serial: FromPath[str],
) -> Response[bytes]:
    _check_type(core, pass_type)
    async with core.reading() as session:
        try:
            member = await member_for_pass(session, serial, _token(request))
        except WrongToken:
            raise NotAuthorizedException("Wrong ApplePass token.") from None
        return await _pass_response(request, core, session, member)


LOG_POSTS_PER_HOUR = 30  # per address; devices post logs only when something goes wrong


@post("/v1/log", status_code=200)
async def device_log(request: Request[Any, Any, Any], core: CoreDep) -> Response[None]:
    """Devices report PassKit errors here, without authentication (Apple's protocol): rate-limited per
    address in the shared counters; only Apple's shape is accepted, bounded, and written without
    control characters."""
    address = (request.client.host if request.client else "-")[:64]
    now = core.clock.now()
    counter = await rate_limits(core).hit("passkit-log:" + address, 3600, now)
    if counter.hits > LOG_POSTS_PER_HOUR:
        return Response(None, status_code=429, headers={"Retry-After": str(counter.retry_after(now))})
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > LOG_MAX_BODY:
        return Response(None, status_code=413)
    body = bytearray()
    async for chunk in request.stream():  # never buffer more than the limit, whatever is declared
        body += chunk
        if len(body) > LOG_MAX_BODY:
            return Response(None, status_code=413)
    try:
        lines = device_log_lines(bytes(body))
    except BadDeviceLog as exc:
        return Response(None, status_code=exc.status)
    for line in lines:
        device_log_writer.info("device log: %s", line)
    return Response(None, status_code=200)


def create_passkit_router() -> Router:
    return Router(
        path="/wallet/apple",
        route_handlers=[register, unregister, updated_serials, latest_pass, device_log],
        include_in_schema=False,
    )


__all__ = ["create_passkit_router", "download"]
