"""Bearer token verification with a PEM public key: what passes and every way to fail."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest

from jemput.shared.security.errors import AuthConfigurationError, AuthenticationError
from jemput.shared.security.keys import PemKeySource
from jemput.shared.security.local_issuer import LocalIssuer
from jemput.shared.security.tokens import JwtVerifier

ISSUER = "https://sso.example.go.id/realms/oki"


@pytest.fixture(scope="module")
def issuer() -> LocalIssuer:
    return LocalIssuer.generate(issuer=ISSUER, key_id_prefix="kc-")


@pytest.fixture(scope="module")
def other_issuer() -> LocalIssuer:
    return LocalIssuer.generate(issuer=ISSUER, key_id_prefix="kc-")


@pytest.fixture
async def verifier(issuer: LocalIssuer, tmp_path: Path) -> JwtVerifier:
    key_file = tmp_path / "public.pem"
    key_file.write_bytes(issuer.public_pem())
    keys = PemKeySource(key_file)
    await keys.load()
    return JwtVerifier(keys, issuer=ISSUER, audience="jemput")


async def test_a_good_token_gives_its_client_scopes_and_areas(
    verifier: JwtVerifier, issuer: LocalIssuer
) -> None:
    token = issuer.token("bpjs", ["residents:status"], areas=["16.02.05"])
    principal = await verifier.verify(token)
    assert principal.client_id == "bpjs"
    assert principal.scopes == frozenset({"residents:status"})
    assert principal.areas == ("16.02.05",)
    assert principal.kind == "jwt"


async def test_keycloak_shape_client_in_azp_and_no_area_claim(
    verifier: JwtVerifier, issuer: LocalIssuer
) -> None:
    now = datetime.now(UTC)
    claims = {
        "iss": ISSUER,
        "aud": ["account", "jemput"],
        "azp": "dinkes-oki",
        "sub": "3f1c0c5e-service-account",
        "scope": "profile email analytics:read",
        "exp": now + timedelta(minutes=5),
        "iat": now,
    }
    token = jwt.encode(claims, issuer.private_key, algorithm="RS256", headers={"kid": "x"})
    principal = await verifier.verify(token)
    assert principal.client_id == "dinkes-oki"
    assert "analytics:read" in principal.scopes
    assert principal.areas is None


def _refused(message: str) -> pytest.RaisesExc[AuthenticationError]:
    return pytest.raises(AuthenticationError, match=message)


async def test_expired_and_not_yet_valid_tokens_are_refused(
    verifier: JwtVerifier, issuer: LocalIssuer
) -> None:
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
    expired = issuer.token("c", ["admin"], lifetime=timedelta(minutes=5), now=an_hour_ago)
    with _refused("expired"):
        await verifier.verify(expired)
    early = issuer.token("c", ["admin"], now=datetime.now(UTC) + timedelta(minutes=10))
    with _refused("not valid yet"):
        await verifier.verify(early)


async def test_wrong_issuer_audience_or_key_is_refused(
    verifier: JwtVerifier, issuer: LocalIssuer, other_issuer: LocalIssuer
) -> None:
    foreign = LocalIssuer(issuer.private_key, issuer="https://evil.example", audience="jemput")
    with _refused("another issuer"):
        await verifier.verify(foreign.token("c", ["admin"]))
    elsewhere = LocalIssuer(issuer.private_key, issuer=ISSUER, audience="simduk")
    with _refused("another audience"):
        await verifier.verify(elsewhere.token("c", ["admin"]))
    with _refused("signature or claims are invalid"):
        await verifier.verify(other_issuer.token("c", ["admin"]))


async def test_alg_none_and_hmac_tokens_are_refused(
    verifier: JwtVerifier, issuer: LocalIssuer
) -> None:
    expiry = int((datetime.now(UTC) + timedelta(minutes=5)).timestamp())
    claims: dict[str, object] = {
        "iss": ISSUER,
        "aud": "jemput",
        "client_id": "c",
        "scope": "admin",
        "exp": expiry,
    }
    unsigned = jwt.encode(claims, key="", algorithm="none")
    with _refused("Only RS256"):
        await verifier.verify(unsigned)
    # The classic confusion attack: HMAC keyed with the (public) verification key.
    hmac_signed = _hs256(claims, issuer.public_pem())
    with _refused("Only RS256"):
        await verifier.verify(hmac_signed)


async def test_required_claims_and_malformed_tokens(
    verifier: JwtVerifier, issuer: LocalIssuer
) -> None:
    no_expiry = jwt.encode(
        {"iss": ISSUER, "aud": "jemput", "client_id": "c"}, issuer.private_key, algorithm="RS256"
    )
    with _refused("no `exp` claim"):
        await verifier.verify(no_expiry)
    with _refused("not a JWT"):
        await verifier.verify("not-a-token")
    with _refused("not a list of area codes"):
        await verifier.verify(issuer.token("c", ["admin"], jemput_areas="16.02"))
    with _refused("names no client"):
        await verifier.verify(issuer.token("", ["admin"]))


async def test_the_refusal_never_contains_the_token(
    verifier: JwtVerifier, issuer: LocalIssuer
) -> None:
    token = issuer.token("c", ["admin"], now=datetime.now(UTC) - timedelta(days=1))
    with pytest.raises(AuthenticationError) as refused:
        await verifier.verify(token)
    assert token not in str(refused.value)


async def test_a_key_file_that_is_not_an_rsa_public_key_stops_the_start(tmp_path: Path) -> None:
    key_file = tmp_path / "public.pem"
    key_file.write_text("-----BEGIN PUBLIC KEY-----\nbm9wZQ==\n-----END PUBLIC KEY-----\n")
    with pytest.raises(AuthConfigurationError, match="not a PEM public key"):
        await PemKeySource(key_file).load()
    with pytest.raises(AuthConfigurationError, match="cannot be read"):
        await PemKeySource(tmp_path / "missing.pem").load()


def _hs256(claims: dict[str, object], secret: bytes) -> str:
    """PyJWT refuses to HMAC with a PEM key, so build the token by hand, as an attacker would."""
    import hashlib
    import hmac

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = b64(json.dumps(claims).encode())
    signature = hmac.new(secret, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{b64(signature)}"


class _Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC).timestamp()

    def __call__(self) -> float:
        return self.now


async def test_a_verified_token_is_kept_until_its_expiry_or_a_minute_whichever_is_first(
    issuer: LocalIssuer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key_file = tmp_path / "public.pem"
    key_file.write_bytes(issuer.public_pem())
    keys = PemKeySource(key_file)
    await keys.load()
    clock = _Clock()
    verifier = JwtVerifier(keys, issuer=ISSUER, audience="jemput", clock=clock)
    decoded: list[str] = []
    real_decode = jwt.decode

    def counting_decode(token: str, *args: object, **kwargs: object) -> object:
        decoded.append(token)
        return real_decode(token, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(jwt, "decode", counting_decode)
    long_lived = issuer.token("bpjs", ["residents:status"], lifetime=timedelta(hours=1))
    short_lived = issuer.token("dinkes", ["analytics:read"], lifetime=timedelta(seconds=20))

    for _ in range(3):
        assert (await verifier.verify(long_lived)).client_id == "bpjs"
        assert (await verifier.verify(short_lived)).client_id == "dinkes"
    assert decoded == [long_lived, short_lived]  # checked once each, then kept

    clock.now += 21  # past the short token's `exp`: it is checked again, the other is not
    await verifier.verify(long_lived)
    await verifier.verify(short_lived)
    assert decoded == [long_lived, short_lived, short_lived]

    clock.now += 40  # a minute after the first check: the long-lived token is checked again
    await verifier.verify(long_lived)
    assert decoded[-1] == long_lived and len(decoded) == 4


async def test_refusals_are_not_kept_and_a_cache_of_zero_keeps_nothing(
    verifier: JwtVerifier, issuer: LocalIssuer, other_issuer: LocalIssuer, tmp_path: Path
) -> None:
    forged = other_issuer.token("bpjs", ["residents:status"])
    for _ in range(2):
        with _refused("signature"):
            await verifier.verify(forged)
    assert len(verifier._verified) == 0

    key_file = tmp_path / "again.pem"
    key_file.write_bytes(issuer.public_pem())
    keys = PemKeySource(key_file)
    await keys.load()
    uncached = JwtVerifier(keys, issuer=ISSUER, audience="jemput", cache_seconds=0)
    await uncached.verify(issuer.token("bpjs", ["residents:status"]))
    assert len(uncached._verified) == 0
