"""Keys from a JWKS URL over real HTTP (a small server on 127.0.0.1 in a thread): cached,
fetched again when a token names a new key id, throttled, and kept through an outage."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import jwt
import pytest

from jemput.shared.security.errors import AuthenticationError, VerificationUnavailable
from jemput.shared.security.jwks import JwksKeySource
from jemput.shared.security.local_issuer import LocalIssuer
from jemput.shared.security.tokens import JwtVerifier

ISSUER = "http://127.0.0.1/realms/oki"


@dataclass
class IdentityProvider:
    """What the fake identity provider serves, and how often it was asked."""

    keys: list[dict[str, Any]] = field(default_factory=list)
    status: int = 200
    requests: int = 0
    url: str = ""

    def publish(self, *issuers: LocalIssuer, extra: list[dict[str, Any]] | None = None) -> None:
        self.keys = [jwk(i) for i in issuers] + (extra or [])


def jwk(issuer: LocalIssuer) -> dict[str, Any]:
    entry: dict[str, Any] = json.loads(
        jwt.algorithms.RSAAlgorithm.to_jwk(issuer.private_key.public_key())
    )
    entry.update({"kid": issuer.key_id, "use": "sig", "alg": "RS256"})
    return entry


@pytest.fixture
def provider() -> Iterator[IdentityProvider]:
    state = IdentityProvider()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.requests += 1
            body = json.dumps({"keys": state.keys}).encode()
            self.send_response(state.status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_port}/realms/oki/protocol/openid-connect/certs"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def kc(prefix: str = "kc-") -> LocalIssuer:
    return LocalIssuer.generate(issuer=ISSUER, key_id_prefix=prefix)


async def test_keys_are_cached_and_fetched_again_for_a_new_key_id(
    provider: IdentityProvider,
) -> None:
    first, rotated = kc(), kc()
    provider.publish(first)
    clock = Clock()
    async with httpx.AsyncClient() as http:
        keys = JwksKeySource(provider.url, http, cache_seconds=300, clock=clock)
        verifier = JwtVerifier(keys, issuer=ISSUER, audience="jemput")
        for _ in range(3):
            assert (await verifier.verify(first.token("bpjs", ["residents:status"]))).client_id
        assert provider.requests == 1  # cached

        provider.publish(first, rotated)  # the provider rotates its signing key
        clock.now += 60
        principal = await verifier.verify(rotated.token("bpjs", ["residents:status"]))
        assert principal.client_id == "bpjs"
        assert provider.requests == 2

        clock.now += 301  # past the cache lifetime: fetched again
        await verifier.verify(first.token("bpjs", ["residents:status"]))
        assert provider.requests == 3


async def test_unknown_key_ids_do_not_hammer_the_provider(provider: IdentityProvider) -> None:
    known, stranger = kc(), kc()
    provider.publish(known)
    clock = Clock()
    async with httpx.AsyncClient() as http:
        keys = JwksKeySource(provider.url, http, min_refetch_seconds=30, clock=clock)
        verifier = JwtVerifier(keys, issuer=ISSUER, audience="jemput")
        await verifier.verify(known.token("c", ["admin"]))
        clock.now += 31
        for _ in range(5):
            with pytest.raises(AuthenticationError, match="key this service does not know"):
                await verifier.verify(stranger.token("c", ["admin"]))
        assert provider.requests == 2  # one fetch for the unknown kid, then throttled


async def test_an_outage_keeps_known_keys_and_without_any_is_unavailable(
    provider: IdentityProvider,
) -> None:
    issuer = kc()
    provider.publish(issuer)
    clock = Clock()
    async with httpx.AsyncClient() as http:
        keys = JwksKeySource(provider.url, http, cache_seconds=10, clock=clock)
        verifier = JwtVerifier(keys, issuer=ISSUER, audience="jemput")
        await verifier.verify(issuer.token("c", ["admin"]))
        provider.status = 503
        clock.now += 60  # stale, and the provider is down: the known key still works
        assert (await verifier.verify(issuer.token("c", ["admin"]))).client_id == "c"

        asked = provider.requests
        for _ in range(3):  # within the retry interval: no request waits for another fetch
            await verifier.verify(issuer.token("c", ["admin"]))
        assert provider.requests == asked

        fresh = JwtVerifier(
            JwksKeySource(provider.url, http, clock=clock), issuer=ISSUER, audience="jemput"
        )
        for _ in range(3):
            with pytest.raises(VerificationUnavailable):
                await fresh.verify(issuer.token("c", ["admin"]))
        assert provider.requests == asked + 1
        provider.status = 200
        clock.now += 6  # the provider is back: after the retry interval the keys come
        assert (await fresh.verify(issuer.token("c", ["admin"]))).client_id == "c"


async def test_encryption_keys_and_development_keys_are_not_used_for_signatures(
    provider: IdentityProvider,
) -> None:
    development, production = kc("dev-"), kc()
    encryption = {**jwk(kc()), "use": "enc", "alg": "RSA-OAEP", "kid": "enc-1"}
    provider.publish(development, production, extra=[encryption])
    async with httpx.AsyncClient() as http:
        keys = JwksKeySource(provider.url, http, allow_development_keys=False)
        verifier = JwtVerifier(keys, issuer=ISSUER, audience="jemput")
        assert (await verifier.verify(production.token("c", ["admin"]))).client_id == "c"
        with pytest.raises(AuthenticationError, match="does not know"):
            await verifier.verify(development.token("c", ["admin"]))
        assert set(keys._keys) == {production.key_id}


async def test_a_kept_token_stops_as_soon_as_its_key_leaves_the_jwks(
    provider: IdentityProvider,
) -> None:
    withdrawn, successor = kc(), kc()
    provider.publish(withdrawn, successor)
    clock = Clock()
    async with httpx.AsyncClient() as http:
        keys = JwksKeySource(provider.url, http, cache_seconds=10, clock=clock)
        verifier = JwtVerifier(keys, issuer=ISSUER, audience="jemput")
        token = withdrawn.token("bpjs", ["residents:status"])
        assert (await verifier.verify(token)).client_id == "bpjs"
        assert (await verifier.verify(token)).client_id == "bpjs"  # kept

        provider.publish(successor)  # the key is withdrawn (compromised, say)
        clock.now += 11  # the key set is fetched again at its next use
        with pytest.raises(AuthenticationError, match="does not know"):
            await verifier.verify(token)
        assert (await verifier.verify(successor.token("bpjs", ["x"]))).client_id == "bpjs"
