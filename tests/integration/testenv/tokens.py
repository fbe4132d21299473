"""Public JWKs of test keys and tokens signed with them (PyJWT), for the identity tests."""
import base64
import time

import jwt
from cryptography.hazmat.primitives import serialization


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def ec_jwk(key, kid):
    n = key.public_key().public_numbers()
    return {"kty": "EC", "crv": "P-256", "kid": kid, "x": b64(n.x.to_bytes(32, "big")),
            "y": b64(n.y.to_bytes(32, "big"))}


def rsa_jwk(key, kid):
    n = key.public_key().public_numbers()
    return {"kty": "RSA", "kid": kid, "n": b64(n.n.to_bytes(256, "big")), "e": b64(n.e.to_bytes(3, "big"))}


def ed_jwk(key, kid):
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return {"kty": "OKP", "crv": "Ed25519", "kid": kid, "x": b64(raw)}


def token_claims(issuer, audience, **over):
    """Claims valid for five minutes from now; a keyword set to None leaves that claim out."""
    now = int(time.time())
    c = {"iss": issuer, "aud": audience, "sub": "alice", "azp": "web", "iat": now, "exp": now + 300}
    c.update(over)
    return {k: v for k, v in c.items() if v is not None}


def sign(key, kid, alg, payload, headers=None):
    h = {"kid": kid}
    h.update(headers or {})
    return jwt.encode(payload, key, algorithm=alg, headers=h)
