"""Certificates made at test time: a throwaway CA that issues server and client certificates
(ECDSA P-256, valid for a day), written as PEM files into a directory."""
import datetime
import ipaddress
import os

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def _write_key(path, key):
    with open(path, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))


class CertAuthority:
    """A CA in directory: ca_file is its certificate; issue() signs leaf certificates."""

    def __init__(self, directory, name="gatehouse test CA"):
        self.dir = directory
        self.now = datetime.datetime.now(datetime.timezone.utc)
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        cert = (x509.CertificateBuilder().subject_name(self.name).issuer_name(self.name)
                .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(self.now - datetime.timedelta(minutes=5))
                .not_valid_after(self.now + datetime.timedelta(days=365))
                .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                .sign(self.key, hashes.SHA256()))
        self.serials = {}
        self.ca_file = os.path.join(directory, name.replace(" ", "-") + ".pem")
        with open(self.ca_file, "wb") as f:
            f.write(cert.public_bytes(serialization.Encoding.PEM))

    def issue(self, stem, common_name, dns=(), ips=(), uris=(), client=False, days=90, expired=False,
              rsa_bits=0):
        """Writes stem.pem and stem.key (mode 600); a server certificate for dns and ips, or a
        client one (uris: SPIFFE IDs); valid for days, or ended yesterday; ECDSA P-256, or RSA
        of rsa_bits. The certificate's serial is kept for revoke()."""
        key = rsa.generate_private_key(65537, rsa_bits) if rsa_bits else ec.generate_private_key(ec.SECP256R1())
        start = self.now - datetime.timedelta(days=2 if expired else 0, minutes=5)
        end = self.now - datetime.timedelta(days=1) if expired else self.now + datetime.timedelta(days=days)
        usage = ExtendedKeyUsageOID.CLIENT_AUTH if client else ExtendedKeyUsageOID.SERVER_AUTH
        builder = (x509.CertificateBuilder()
                   .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
                   .issuer_name(self.name).public_key(key.public_key())
                   .serial_number(x509.random_serial_number())
                   .not_valid_before(start).not_valid_after(end)
                   .add_extension(x509.ExtendedKeyUsage([usage]), critical=False))
        names = [x509.DNSName(d) for d in dns] + [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
        names += [x509.UniformResourceIdentifier(u) for u in uris]
        if names:
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        cert = builder.sign(self.key, hashes.SHA256())
        self.serials[stem] = cert.serial_number
        paths = os.path.join(self.dir, stem + ".pem"), os.path.join(self.dir, stem + ".key")
        with open(paths[0], "wb") as f:
            f.write(cert.public_bytes(serialization.Encoding.PEM))
        _write_key(paths[1], key)
        os.chmod(paths[1], 0o600)
        return paths


def write_crl(ca, path, revoked_stems):
    """A CRL of ca revoking the certificates it issued under those stems, as PEM at path."""
    builder = (x509.CertificateRevocationListBuilder().issuer_name(ca.name)
               .last_update(ca.now - datetime.timedelta(minutes=5))
               .next_update(ca.now + datetime.timedelta(days=7)))
    for stem in revoked_stems:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(ca.serials[stem])
            .revocation_date(ca.now - datetime.timedelta(minutes=1)).build())
    crl = builder.sign(ca.key, hashes.SHA256())
    with open(path, "wb") as f:
        f.write(crl.public_bytes(serialization.Encoding.PEM))
    return path


def make_ca_and_server_cert(directory):
    """A throwaway CA and a certificate for 127.0.0.1 and localhost it signed. Returns the paths
    (ca file, server certificate, server key)."""
    ca = CertAuthority(directory)
    cert, key = ca.issue("server", "127.0.0.1", dns=["localhost"], ips=["127.0.0.1"])
    return ca.ca_file, cert, key
