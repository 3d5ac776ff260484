#!/usr/bin/python3
"""Generates the JWT test vectors in this directory with PyJWT (Debian's
python3-jwt) and python3-cryptography, so that the C++ verifier is checked
against tokens a real, independent library made.

    tests/unit/filters/jwt_vectors/gen.py   # rewrites jwks.json, jwks_rotated.json, vectors.json

Keys are random on every run; the outputs are committed and the tests read
them (they never run Python). Every token is built for NOW below; the tests
inject that time. Tokens PyJWT will not make (alg none in capitals, the
RS256->HS256 key confusion, broken encodings) are assembled here by hand from
the same primitives, and say so in their names.
"""

import base64
import hashlib
import hmac
import json
import os
import sys

import jwt
from jwt import api_jws
from jwt.algorithms import ECAlgorithm, HMACAlgorithm, OKPAlgorithm, RSAAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa

NOW = 1700000000
ISSUER = "https://issuer.example"
AUDIENCES = ["api://sidecar", "api://other"]
LEEWAY = 30
OUT = os.path.dirname(os.path.abspath(__file__))


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64json(obj):
    return b64(json.dumps(obj, separators=(",", ":")).encode())


def rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def ec_key_with_short_x():
    # PyJWT's to_jwk drops leading zero bytes of a coordinate (RFC 7518 wants
    # them kept); the verifier accepts that, and this key exercises it.
    while True:
        key = ec.generate_private_key(ec.SECP256R1())
        if key.public_key().public_numbers().x < (1 << 248):
            return key


KEYS = {
    "rsa-1": rsa_key(),
    "rsa-pss-only": rsa_key(),
    "ec-256": ec.generate_private_key(ec.SECP256R1()),
    "ec-384": ec.generate_private_key(ec.SECP384R1()),
    "ec-521": ec.generate_private_key(ec.SECP521R1()),
    "ec-short-x": ec_key_with_short_x(),
    "ed-1": ed25519.Ed25519PrivateKey.generate(),
    "hs-256": os.urandom(32),
    "hs-384": os.urandom(48),
    "hs-512": os.urandom(64),
}
ROTATED_RSA = rsa_key()  # "rsa-1" after a key rotation


def jwk(kid, key, alg=None, use="sig"):
    if isinstance(key, bytes):
        entry = json.loads(HMACAlgorithm.to_jwk(key))
    elif isinstance(key, rsa.RSAPrivateKey):
        entry = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    elif isinstance(key, ec.EllipticCurvePrivateKey):
        entry = json.loads(ECAlgorithm.to_jwk(key.public_key()))
    else:
        entry = json.loads(OKPAlgorithm.to_jwk(key.public_key()))
    if kid is not None:
        entry["kid"] = kid
    if alg is not None:
        entry["alg"] = alg
    if use is not None:
        entry["use"] = use
    return entry


def jwks(rsa_1):
    keys = [
        jwk("rsa-1", rsa_1),  # no alg: RS* and PS*
        jwk("rsa-pss-only", KEYS["rsa-pss-only"], alg="PS256"),
        jwk("ec-256", KEYS["ec-256"], alg="ES256"),
        jwk("ec-384", KEYS["ec-384"], alg="ES384"),
        jwk("ec-521", KEYS["ec-521"]),
        jwk("ec-short-x", KEYS["ec-short-x"], alg="ES256"),
        jwk("ed-1", KEYS["ed-1"], alg="EdDSA"),
        jwk("hs-256", KEYS["hs-256"], alg="HS256"),
        jwk("hs-384", KEYS["hs-384"], alg="HS384"),
        jwk("hs-512", KEYS["hs-512"]),
        # Keys the verifier must skip, with a warning each.
        jwk("rsa-enc", rsa_key(), use="enc"),
        jwk("k1", ec.generate_private_key(ec.SECP256K1())),
        jwk("ed448", ed448.Ed448PrivateKey.generate()),
    ]
    return {"keys": keys}


ALG_KID = {
    "RS256": "rsa-1", "RS384": "rsa-1", "RS512": "rsa-1",
    "PS256": "rsa-1", "PS384": "rsa-1", "PS512": "rsa-1",
    "ES256": "ec-256", "ES384": "ec-384", "ES512": "ec-521",
    "EdDSA": "ed-1",
    "HS256": "hs-256", "HS384": "hs-384", "HS512": "hs-512",
}


REMOVE = object()  # claims(name=REMOVE) leaves the claim out


def claims(**changes):
    base = {
        "sub": "user-1",
        "iss": ISSUER,
        "aud": AUDIENCES[0],
        "iat": NOW - 60,
        "nbf": NOW - 60,
        "exp": NOW + 3600,
    }
    for name, value in changes.items():
        if value is REMOVE:
            base.pop(name, None)
        else:
            base[name] = value
    return base


def sign(alg, payload, kid="default", key=None, headers=None):
    """A token PyJWT signs; payload is a dict or raw bytes."""
    if kid == "default":
        kid = ALG_KID[alg]
    if key is None:
        key = KEYS[ALG_KID[alg]]
    all_headers = dict(headers or {})
    if kid is not None:
        all_headers["kid"] = kid
    if isinstance(payload, bytes):
        return api_jws.encode(payload, key, algorithm=alg, headers=all_headers)
    # PyJWT would turn datetimes into numbers; ours are numbers already.
    return jwt.encode(payload, key, algorithm=alg, headers=all_headers)


def hand_signed_hs256(header, payload_b64, secret):
    """A token assembled by hand: `header` (a dict or raw JSON text) HMAC-SHA256 signed."""
    header_b64 = b64json(header) if isinstance(header, dict) else b64(header.encode())
    signing_input = f"{header_b64}.{payload_b64}".encode()
    return f"{header_b64}.{payload_b64}." + b64(hmac.new(secret, signing_input, hashlib.sha256).digest())


def flip_signature_byte(token):
    head, sig = token.rsplit(".", 1)
    raw = bytearray(base64.urlsafe_b64decode(sig + "=" * (-len(sig) % 4)))
    raw[len(raw) // 2] ^= 0x01
    return f"{head}.{b64(bytes(raw))}"


def main():
    cases = []

    def case(name, token, expect, **extra):
        cases.append(dict(name=name, token=token, expect=expect, **extra))

    # Every algorithm, verified.
    for alg in ALG_KID:
        case(f"ok_{alg}", sign(alg, claims()), "ok", sub="user-1")
    case("ok_ES256_short_coordinate", sign("ES256", claims(), kid="ec-short-x",
                                           key=KEYS["ec-short-x"]), "ok")
    case("ok_EdDSA_without_kid", sign("EdDSA", claims(), kid=None), "ok")

    # Claims as text, scopes.
    case("ok_claims_and_scopes",
         sign("RS256", claims(scope="read write", scp=["admin", "ops"], roles=["a", "b"],
                              n=42, big=18446744073709551615, flag=True, nothing=None,
                              ratio=1.5, obj={"a": 1, "b": [True]}, mixed=[1, "a"])),
         "ok", sub="user-1", scopes=["read", "write", "admin", "ops"],
         claims={"sub": "user-1", "iss": ISSUER, "aud": AUDIENCES[0], "exp": str(NOW + 3600),
                 "scope": "read write", "scp": "admin ops", "roles": "a b", "n": "42",
                 "big": "18446744073709551615", "flag": "true", "nothing": "null",
                 "ratio": "1.5", "obj": '{"a":1,"b":[true]}', "mixed": '[1,"a"]'})
    case("ok_aud_array", sign("ES256", claims(aud=["api://unknown", AUDIENCES[1]])), "ok")
    case("ok_exp_within_leeway", sign("HS256", claims(exp=NOW - LEEWAY + 1)), "ok")
    case("ok_nbf_within_leeway", sign("HS256", claims(nbf=NOW + LEEWAY)), "ok")
    case("ok_no_exp", sign("HS256", claims(exp=REMOVE)), "ok")
    case("ok_fractional_exp", sign("HS256", claims(exp=NOW + 0.5)), "ok")

    # Refusals.
    case("alg_none", jwt.encode(claims(), None, algorithm="none"), "alg_none")
    case("alg_none_capitals_hand_made", f'{b64json({"alg": "NONE"})}.{b64json(claims())}.',
         "alg_none")
    case("alg_not_allowed_by_policy", sign("HS256", claims()), "alg_not_allowed",
         algorithms=["RS256", "ES256"])
    case("alg_unknown_hand_made",
         hand_signed_hs256({"alg": "HS1", "kid": "hs-256"}, b64json(claims()), KEYS["hs-256"]),
         "alg_not_allowed")
    case("crit", sign("ES256", claims(), headers={"crit": ["exp"], "exp": NOW}), "unknown_crit")
    case("crit_empty", sign("ES256", claims(), headers={"crit": []}), "malformed")
    case("crit_not_array", sign("ES256", claims(), headers={"crit": "exp"}), "malformed")
    rsa_pem = KEYS["rsa-1"].public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    case("confusion_hs256_with_rsa_pem_hand_made",
         hand_signed_hs256({"alg": "HS256", "typ": "JWT", "kid": "rsa-1"},
                           b64json(claims()), rsa_pem), "key_alg_mismatch")
    case("confusion_hs256_with_rsa_pem_no_kid_hand_made",
         hand_signed_hs256({"alg": "HS256", "typ": "JWT"}, b64json(claims()), rsa_pem),
         "no_key")
    case("key_alg_mismatch_curve", sign("ES384", claims(), kid="ec-256", key=KEYS["ec-384"]),
         "key_alg_mismatch")
    case("key_alg_mismatch_key_alg", sign("RS256", claims(), kid="rsa-pss-only",
                                          key=KEYS["rsa-pss-only"]), "key_alg_mismatch")
    case("key_alg_mismatch_type", sign("PS256", claims(), kid="ec-521"), "key_alg_mismatch")
    case("kid_unknown", sign("RS256", claims(), kid="nobody"), "no_key")
    case("no_kid_several_hmac_keys", sign("HS256", claims(), kid=None), "no_key")

    good = sign("RS256", claims())
    head, payload, sig = good.split(".")
    case("bad_base64_padding", f"{head}.{payload}.{sig}==", "malformed")
    case("bad_base64_character", f"{head}.{payload[:-1]}*.{sig}", "malformed")
    case("bad_base64_plus_slash", f"{head}.{payload}.{sig[:-2]}+/", "malformed")
    case("bad_base64_length", f"{head}.{payload}A.{sig}", "malformed")
    case("two_parts", f"{head}.{payload}", "malformed")
    case("four_parts", f"{good}.{sig}", "malformed")
    case("empty", "", "malformed")
    case("header_not_json_hand_made", f'{b64(b"{not json")}.{payload}.{sig}', "malformed")
    case("header_array_hand_made", f'{b64(b"[1]")}.{payload}.{sig}', "malformed")
    case("header_without_alg_hand_made", f'{b64json({"typ": "JWT"})}.{payload}.{sig}',
         "malformed")
    case("header_alg_twice_hand_made",
         hand_signed_hs256('{"alg":"HS256","kid":"hs-256","alg":"none"}', b64json(claims()),
                           KEYS["hs-256"]), "malformed")
    case("payload_not_json", sign("HS256", b'{"sub": '), "malformed")
    case("payload_array", sign("HS256", b'[1,2]'), "malformed")
    case("oversize", sign("HS256", claims(pad="x" * 9000)), "too_large")

    case("bad_signature_RS256", flip_signature_byte(good), "bad_signature")
    case("bad_signature_PS256", flip_signature_byte(sign("PS256", claims())), "bad_signature")
    case("bad_signature_ES256", flip_signature_byte(sign("ES256", claims())), "bad_signature")
    case("bad_signature_ES512", flip_signature_byte(sign("ES512", claims())), "bad_signature")
    case("bad_signature_EdDSA", flip_signature_byte(sign("EdDSA", claims())), "bad_signature")
    case("bad_signature_HS256", flip_signature_byte(sign("HS256", claims())), "bad_signature")
    case("bad_signature_ES256_short", f"{sign('ES256', claims()).rsplit('.', 1)[0]}.{b64(bytes(63))}",
         "bad_signature")
    case("payload_swapped", f"{head}.{b64json(claims(sub='admin'))}.{sig}", "bad_signature")
    case("wrong_key_same_kid", sign("RS256", claims(), kid="rsa-1", key=KEYS["rsa-pss-only"]),
         "bad_signature")

    case("expired", sign("RS256", claims(exp=NOW - LEEWAY - 1)), "expired")
    case("expired_at_leeway_edge", sign("HS256", claims(exp=NOW - LEEWAY)), "expired")
    case("nbf_in_future", sign("ES256", claims(nbf=NOW + LEEWAY + 1)), "not_yet_valid")
    case("bad_iss", sign("EdDSA", claims(iss="https://evil.example")), "bad_issuer")
    case("missing_iss", sign("EdDSA", claims(iss=REMOVE)), "bad_issuer")
    case("bad_aud", sign("HS384", claims(aud="api://unknown")), "bad_audience")
    case("bad_aud_array", sign("HS384", claims(aud=["a", "b"])), "bad_audience")
    case("missing_aud", sign("HS384", claims(aud=REMOVE)), "bad_audience")
    case("aud_number", sign("HS384", claims(aud=7)), "malformed")
    case("string_exp", sign("HS512", claims(exp=str(NOW + 3600))), "malformed")
    case("scope_array", sign("HS512", claims(scope=["a"])), "malformed")

    # Key rotation: "rsa-1" gets a new key.
    rotated = sign("RS256", claims(sub="after-rotation"), kid="rsa-1", key=ROTATED_RSA)
    case("rotation_new_token_old_set", rotated, "bad_signature")
    case("rotation_new_token_new_set", rotated, "ok", jwks="rotated", sub="after-rotation")
    case("rotation_old_token_new_set", good, "bad_signature", jwks="rotated")

    names = [c["name"] for c in cases]
    assert len(names) == len(set(names)), "case names must be unique"
    with open(os.path.join(OUT, "jwks.json"), "w") as f:
        json.dump(jwks(KEYS["rsa-1"]), f, indent=1)
        f.write("\n")
    with open(os.path.join(OUT, "jwks_rotated.json"), "w") as f:
        json.dump(jwks(ROTATED_RSA), f, indent=1)
        f.write("\n")
    vectors = {
        "generator": f"gen.py, PyJWT {jwt.__version__}",
        "now": NOW,
        "policy": {"issuer": ISSUER, "audiences": AUDIENCES, "leeway_s": LEEWAY,
                   "max_token_bytes": 8192},
        "cases": cases,
    }
    with open(os.path.join(OUT, "vectors.json"), "w") as f:
        json.dump(vectors, f, indent=1)
        f.write("\n")
    print(f"{len(cases)} cases", file=sys.stderr)


if __name__ == "__main__":
    main()
