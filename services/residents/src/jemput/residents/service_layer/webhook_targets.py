"""Where a webhook may go: the host of its URL resolved once, every address checked, and the
checked address the delivery connects to.

Outside development and test a partner's receiver must be on a public address: a URL naming
(or resolving to) a loopback, private, link-local or other internal address would let a
subscriber make the register's server call its own network (the cloud metadata service, the
database, an admin port). The check is made at subscription and again at each delivery, after
name resolution, and the delivery connects to the address it checked: a DNS answer that
changes between the check and the connection (DNS rebinding) is never used.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable, Sequence

from jemput.residents.domain.webhooks import IPAddress, ip_literal, is_internal

# host, port -> the addresses the name resolves to (as text); raises OSError when it does not.
Resolver = Callable[[str, int], Awaitable[Sequence[str]]]

RESOLVE_TIMEOUT_SECONDS = 5.0


class InternalAddress(Exception):
    """The host is, or resolves to, an address that is not public."""


class Unresolvable(OSError):
    """The host resolves to no address (now)."""


async def system_resolver(host: str, port: int) -> list[str]:
    """The operating system's resolver (getaddrinfo in a thread: the event loop never
    blocks)."""
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(RESOLVE_TIMEOUT_SECONDS):
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


async def checked_address(
    host: str, port: int, *, resolver: Resolver, allow_internal: bool
) -> IPAddress:
    """The address to connect to for `host`: the literal itself, or the first address the
    name resolves to once every address it resolves to has been checked (a name answering
    one public and one internal address is refused: which one a client picks is not ours to
    know)."""
    literal = ip_literal(host)
    if literal is not None:
        addresses = [literal]
    else:
        try:
            answers = await resolver(host, port)
        except TimeoutError as exc:
            raise Unresolvable(f"resolving the host timed out: {exc}") from exc
        parsed = [ip_literal(answer) for answer in answers]
        if any(address is None for address in parsed):
            raise InternalAddress("the host resolves to something that is not an address")
        addresses = [address for address in parsed if address is not None]
    if not addresses:
        raise Unresolvable("the host resolves to no address")
    if not allow_internal and any(is_internal(address) for address in addresses):
        raise InternalAddress("the host is or resolves to an internal address")
    return addresses[0]
