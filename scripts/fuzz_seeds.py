#!/usr/bin/python3
"""Seeds for the fuzz targets, generated at fuzz time into build/fuzz/seeds-<target>/ from the
external suites in ../shared/testdata (read in place, never copied into the project) and from
live TLS handshakes. The hand-written seeds in tests/fuzz/corpus/ stay as they are.

  h1    every desync-guardian case, rendered by the unit test's own loader (seed_desync)
  json  every JSON Schema suite test: its `data` as a body (mode byte 0) and its schema as a
        schema (mode byte 1), the first byte fuzz_json reads
  jws   every Wycheproof key given as a JWK, as a one-key JWKS
  tls   server flights (TLS 1.2 and 1.3, P-256 and RSA certificates) recorded from Python's ssl
        talking to itself, cut into the pieces fuzz_tls feeds (a length byte, then the piece)

`generate(target, root)` returns (folder or None, [missing suites])."""
import json
import os
import shutil
import ssl
import subprocess
import sys
import tempfile

SHARED = os.path.join("..", "shared", "testdata")
DESYNC = os.path.join(SHARED, "http-desync-guardian", "tests")
SCHEMA = os.path.join(SHARED, "json-schema-test-suite", "tests", "draft2020-12")
WYCHEPROOF = os.path.join(SHARED, "wycheproof", "testvectors_v1")


def _fresh(root, target):
    folder = os.path.join(root, "build", "fuzz", "seeds-" + target)
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    return folder


def _write(folder, name, data):
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


def h1(root, folder):
    suite = os.path.join(root, DESYNC)
    if not os.path.isdir(suite):
        return [DESYNC]
    tool = os.path.join(root, "build", "fuzz", "seed_desync")
    subprocess.run([tool, suite, folder], check=True, stdout=subprocess.DEVNULL, timeout=60)
    return []


def json_seeds(root, folder):
    suite = os.path.join(root, SCHEMA)
    if not os.path.isdir(suite):
        return [SCHEMA]
    for name in sorted(os.listdir(suite)):
        if not name.endswith(".json"):
            continue
        with open(os.path.join(suite, name), encoding="utf-8") as f:
            groups = json.load(f)
        stem = name[:-5]
        for g, group in enumerate(groups):
            _write(folder, "%s-%d-schema" % (stem, g), b"\x01" + json.dumps(group["schema"]).encode())
            for t, test in enumerate(group["tests"]):
                _write(folder, "%s-%d-%d" % (stem, g, t), b"\x00" + json.dumps(test["data"]).encode())
    return []


def jws(root, folder):
    suite = os.path.join(root, WYCHEPROOF)
    if not os.path.isdir(suite):
        return [WYCHEPROOF]
    seen = set()
    for name in sorted(os.listdir(suite)):
        if not name.endswith(".json"):
            continue
        with open(os.path.join(suite, name), encoding="utf-8") as f:
            doc = json.load(f)
        for group in doc.get("testGroups", []):
            for key in ("publicKeyJwk", "privateKeyJwk", "jwk"):
                jwk = group.get(key)
                text = json.dumps({"keys": [jwk]}, sort_keys=True) if jwk else None
                if text and text not in seen:
                    seen.add(text)
                    _write(folder, "wycheproof-%03d" % len(seen), text.encode())
    return []


def _certificate(directory, kind):
    """A self-signed localhost certificate and key (PEM paths), EC P-256 or RSA 2048."""
    import datetime
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1()) if kind == "ec" else \
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(1)
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = os.path.join(directory, kind + ".pem"), os.path.join(directory, kind + ".key")
    with open(cert_path, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(key_path, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    return cert_path, key_path


def _server_flight(cert, key, version):
    """The bytes a server sends in answer to a ClientHello (what fuzz_tls's client session reads)."""
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert, key)
    client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client.check_hostname, client.verify_mode = False, ssl.CERT_NONE
    for ctx in (server, client):
        ctx.minimum_version = ctx.maximum_version = version
    c_in, c_out, s_in, s_out = (ssl.MemoryBIO() for _ in range(4))
    c = client.wrap_bio(c_in, c_out, server_hostname="localhost")
    s = server.wrap_bio(s_in, s_out, server_side=True)
    try:
        c.do_handshake()
    except ssl.SSLWantReadError:
        pass
    s_in.write(c_out.read())
    try:
        s.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return s_out.read()


def _pieces(data, size):
    """data as fuzz_tls reads it: a byte giving the piece length (1 + byte % 64), then the piece."""
    out = bytearray()
    for i in range(0, len(data), size):
        piece = data[i:i + size]
        out += bytes([len(piece) - 1]) + piece
    return bytes(out)


def tls(root, folder):
    with tempfile.TemporaryDirectory() as d:
        for kind in ("ec", "rsa"):
            cert, key = _certificate(d, kind)
            for version, tag in ((ssl.TLSVersion.TLSv1_2, "tls12"), (ssl.TLSVersion.TLSv1_3, "tls13")):
                flight = _server_flight(cert, key, version)
                for size in (64, 7):
                    _write(folder, "server-flight-%s-%s-%d" % (tag, kind, size), _pieces(flight, size))
    return []


GENERATORS = {"h1": h1, "json": json_seeds, "jws": jws, "tls": tls}


def generate(target, root):
    gen = GENERATORS.get(target)
    if gen is None:
        return None, []
    folder = _fresh(root, target)
    missing = gen(root, folder)
    return (folder if os.listdir(folder) else None), missing


if __name__ == "__main__":
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for t in sys.argv[1:] or sorted(GENERATORS):
        f, miss = generate(t, here)
        print("%s: %d seeds in %s%s" % (t, len(os.listdir(f)) if f else 0, f,
                                         "; missing " + ", ".join(miss) if miss else ""))
