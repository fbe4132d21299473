#!/usr/bin/python3
"""The software bill of materials of a build: CycloneDX 1.5 JSON.

    scripts/sbom.py OUT.json [BINARY]      (BINARY: build/rel/gatehouse)

Lists the Debian packages the binary was built with and runs with, at the exact versions
installed (dpkg-query): the -dev packages of the headers it compiled against (scope
"excluded": build time only) and the packages that hold the shared libraries it links
(readelf's NEEDED entries, found with ldd and dpkg-query -S; scope "required"). Each has its
package URL, pkg:deb/debian/NAME@VERSION?arch=ARCH. The binary itself is the metadata
component, with its SHA-256. The timestamp is SOURCE_DATE_EPOCH's and the serial number is
derived from the content, so the same build gives the same bytes. Standard library only."""
import hashlib
import json
import os
import re
import subprocess
import sys
import time
import urllib.parse
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The -dev packages of the libraries the Makefile's pkg-config modules name.
DEV_PACKAGES = ["libuv1-dev", "libyaml-dev", "libssl-dev", "libjansson-dev",
                "libcurl4-openssl-dev", "libhiredis-dev", "libnghttp2-dev", "libpcre2-dev",
                "libc6-dev"]


def run(*cmd):
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


def installed(package):
    """(name, version, architecture) of an installed package, as dpkg-query reports it."""
    out = run("dpkg-query", "-W", "-f=${Package}\t${Version}\t${Architecture}\n", package)
    return tuple(out.splitlines()[0].split("\t"))


def needed_libraries(binary):
    """The paths of the shared libraries the binary names in NEEDED, resolved as the loader
    would (ldd)."""
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", run("readelf", "-d", binary))
    found = dict(re.findall(r"^\s*(\S+) => (/\S+)", run("ldd", binary), re.M))
    missing = [n for n in needed if n not in found]
    if missing:
        sys.exit("sbom: cannot resolve %s" % ", ".join(missing))
    return [os.path.realpath(found[n]) for n in needed]


def owners(paths):
    """The packages that installed these files, in one dpkg-query call (a path may be known to
    dpkg under /lib or /usr/lib: Debian 12 merged them without moving dpkg's records)."""
    candidates = {}
    for p in paths:
        candidates[p] = p
        candidates[p.replace("/usr/lib/", "/lib/", 1)] = p
    r = subprocess.run(["dpkg-query", "-S", *sorted(candidates)], capture_output=True, text=True)
    found = {}
    for line in r.stdout.splitlines():  # "libssl3:amd64: /usr/lib/x86_64-linux-gnu/libssl.so.3"
        package, _, path = line.partition(": ")
        if path in candidates and "diversion" not in package:
            found[candidates[path]] = package.split(",")[0].split(":")[0].strip()
    missing = [p for p in paths if p not in found]
    if missing:
        sys.exit("sbom: no package owns %s" % ", ".join(missing))
    return {found[p] for p in paths}


def purl(name, version, arch):
    return "pkg:deb/debian/%s@%s?arch=%s" % (name, urllib.parse.quote(version, safe=".~-_"), arch)


def component(name, version, arch, scope, role):
    return {
        "type": "library",
        "bom-ref": purl(name, version, arch),
        "name": name,
        "version": version,
        "scope": scope,
        "purl": purl(name, version, arch),
        "properties": [{"name": "gatehouse:role", "value": role}],
    }


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 16), b""):
            h.update(block)
    return h.hexdigest()


def bom(binary):
    with open(os.path.join(ROOT, "VERSION")) as f:
        version = f.read().strip()
    epoch = int(os.environ.get("SOURCE_DATE_EPOCH") or 0)
    runtime = sorted(installed(p) for p in owners(needed_libraries(binary)))
    build = sorted(installed(p) for p in DEV_PACKAGES)
    components = [component(*p, "required", "runtime") for p in runtime]
    components += [component(*p, "excluded", "build") for p in build]
    app = {
        "type": "application",
        "bom-ref": "gatehouse",
        "name": "gatehouse",
        "version": version,
        "licenses": [{"license": {"id": "Apache-2.0"}}],
        "hashes": [{"alg": "SHA-256", "content": sha256(binary)}],
    }
    doc = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "version": 1,
        "metadata": {
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch)),
            "component": app,
        },
        "components": components,
        "dependencies": [{"ref": "gatehouse",
                          "dependsOn": [c["bom-ref"] for c in components if c["scope"] == "required"]}],
    }
    digest = json.dumps(doc, sort_keys=True).encode()
    doc["serialNumber"] = "urn:uuid:%s" % uuid.uuid5(uuid.NAMESPACE_URL, hashlib.sha256(digest).hexdigest())
    return doc


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit("usage: scripts/sbom.py OUT.json [BINARY]")
    binary = sys.argv[2] if len(sys.argv) == 3 else os.path.join(ROOT, "build/rel/gatehouse")
    doc = bom(binary)
    os.makedirs(os.path.dirname(os.path.abspath(sys.argv[1])), exist_ok=True)
    with open(sys.argv[1], "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
