"""Installing and packaging (docs/deployment.md): make install/uninstall, the systemd unit,
man pages, bash completion, `version --verbose`, the SBOM, and the Debian package: lintian,
its files extracted and run, and its binary byte for byte the one `make` built in another
folder (reproducible builds).

Cost: the package is built once per run (`make deb`, about 3 to 4 minutes on 2 cores, most of
it the compiler) and only in the release pass: the sanitizer pass skips it, since the package
holds the release build."""
import json
import os
import re
import shutil
import subprocess
import time
import urllib.parse

import pytest

from testenv import BIN, ROOT, SANITIZED

VERSION = open(os.path.join(ROOT, "VERSION")).read().strip()
REL_BIN = os.path.join(ROOT, "build", "rel", "gatehouse")
needs_release = pytest.mark.skipif(SANITIZED or os.path.realpath(BIN) != os.path.realpath(REL_BIN),
                                   reason="the package holds the release build (built once, in its pass)")


def make(*args, **kw):
    p = subprocess.run(["make", "-s", *args], cwd=ROOT, capture_output=True, text=True, **kw)
    assert p.returncode == 0, "make %s:\n%s\n%s" % (" ".join(args), p.stdout[-3000:], p.stderr[-3000:])
    return p


def dpkg_version(package):
    return subprocess.run(["dpkg-query", "-W", "-f=${Version}", package], capture_output=True,
                          text=True, check=True).stdout


def commit_epoch():
    if os.environ.get("SOURCE_DATE_EPOCH"):
        return int(os.environ["SOURCE_DATE_EPOCH"])
    return int(subprocess.run(["git", "log", "-1", "--format=%ct"], cwd=ROOT, capture_output=True,
                              text=True, check=True).stdout)


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """`make install` into a scratch prefix, with the configuration folder under it too."""
    root = tmp_path_factory.mktemp("prefix")
    make("install", "PREFIX=%s/usr" % root, "SYSCONFDIR=%s/etc" % root)
    return root


def test_install_puts_every_piece_in_place_and_uninstall_keeps_the_configuration(tmp_path):
    dest = tmp_path / "root"
    make("install", "PREFIX=/usr", "DESTDIR=%s" % dest)
    expected = ["usr/bin/gatehouse", "usr/share/man/man8/gatehouse.8",
                "usr/share/man/man5/gatehouse.yaml.5", "lib/systemd/system/gatehouse.service",
                "usr/share/bash-completion/completions/gatehouse", "usr/share/doc/gatehouse/README.md",
                "usr/share/doc/gatehouse/deployment.md", "etc/gatehouse/gatehouse.yaml"]
    for f in expected:
        assert (dest / f).is_file(), f
    assert os.access(dest / "usr/bin/gatehouse", os.X_OK)
    # An operator's configuration is never replaced by a second install.
    conf = dest / "etc/gatehouse/gatehouse.yaml"
    conf.write_text(conf.read_text() + "# edited by the operator\n")
    make("install", "PREFIX=/usr", "DESTDIR=%s" % dest)
    assert conf.read_text().endswith("# edited by the operator\n")
    make("uninstall", "PREFIX=/usr", "DESTDIR=%s" % dest)
    left = sorted(str(p.relative_to(dest)) for p in dest.rglob("*") if p.is_file())
    assert left == ["etc/gatehouse/gatehouse.yaml"], left


def test_the_installed_example_configuration_checks(installed):
    binary = installed / "usr/bin/gatehouse"
    conf = installed / "etc/gatehouse/gatehouse.yaml"
    p = subprocess.run([str(binary), "check", "-c", str(conf)], capture_output=True, text=True)
    assert p.returncode == 0 and ": ok (" in p.stdout, p.stdout + p.stderr
    assert "warning" not in p.stderr, p.stderr


UNIT_MUST_SAY = ["Type=notify", "User=gatehouse", "KillSignal=SIGTERM", "ProtectSystem=strict",
                 "ProtectHome=yes", "PrivateTmp=yes", "NoNewPrivileges=yes",
                 "CapabilityBoundingSet=CAP_NET_BIND_SERVICE",
                 "AmbientCapabilities=CAP_NET_BIND_SERVICE", "SystemCallFilter=@system-service",
                 "RuntimeDirectory=gatehouse", "LogsDirectory=gatehouse",
                 "ExecStartPre=/usr/bin/gatehouse check -c /etc/gatehouse/gatehouse.yaml",
                 "ExecStart=/usr/bin/gatehouse run -c /etc/gatehouse/gatehouse.yaml",
                 "ExecReload=/usr/bin/gatehouse reload -c /etc/gatehouse/gatehouse.yaml"]


def test_the_unit_is_hardened_and_outlasts_the_drain():
    unit = open(os.path.join(ROOT, "packaging", "gatehouse.service")).read()
    lines = set(unit.splitlines())
    for directive in UNIT_MUST_SAY:
        assert directive in lines, directive
    stop = int(re.search(r"^TimeoutStopSec=(\d+)s$", unit, re.M).group(1))
    conf = open(os.path.join(ROOT, "packaging", "gatehouse.yaml")).read()
    drain = int(re.search(r"^drain_timeout: (\d+)s$", conf, re.M).group(1))
    assert stop > drain


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze is not installed")
def test_systemd_analyze_verifies_the_unit_as_the_deployment_guide_says(tmp_path):
    """The guide's own commands, in a scratch folder instead of /tmp/gh: install into a
    prefix, then `systemd-analyze verify` the unit there, silent and exit 0."""
    guide = open(os.path.join(ROOT, "docs", "deployment.md")).read()
    block = next(b for b in re.findall(r"```sh\n(.*?)```", guide, re.S) if "systemd-analyze verify" in b)
    commands = block.replace("/tmp/gh/", str(tmp_path) + "/").replace("make install", "make -s install")
    p = subprocess.run(["bash", "-euc", commands], cwd=ROOT, capture_output=True, text=True)
    assert p.returncode == 0 and not p.stderr.strip(), p.stdout + p.stderr
    assert (tmp_path / "usr/lib/systemd/system/gatehouse.service").is_file()


def test_man_pages_render_without_warnings_and_follow_the_docs():
    make("man")
    for page in ("gatehouse.8", "gatehouse.yaml.5"):
        path = os.path.join(ROOT, "build", "man", page)
        p = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-z", path], capture_output=True, text=True)
        assert p.returncode == 0 and not p.stderr, page + ":\n" + p.stderr
        shown = subprocess.run(["man", "-l", "-Tutf8", path], capture_output=True, text=True,
                               env=dict(os.environ, MANWIDTH="80"))
        assert shown.returncode == 0 and not shown.stderr, shown.stderr
    text = subprocess.run(["man", "-l", os.path.join(ROOT, "build", "man", "gatehouse.yaml.5")],
                          capture_output=True, text=True, env=dict(os.environ, MANWIDTH="200")).stdout
    text = re.sub(r".\x08", "", text)
    keys = re.findall(r"^\| `([a-z_0-9]+)` \|", open(os.path.join(ROOT, "docs", "configuration.md")).read(), re.M)
    assert len(keys) > 50
    missing = [k for k in set(keys) if k not in text]
    assert not missing, missing


def complete(*words):
    script = ('source %s; COMP_WORDS=(%s); COMP_CWORD=%d; _gatehouse; printf "%%s\\n" "${COMPREPLY[@]}"'
              % (os.path.join(ROOT, "packaging", "gatehouse.bash-completion"),
                 " ".join("'%s'" % w for w in words), len(words) - 1))
    p = subprocess.run(["bash", "-c", script], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    return set(p.stdout.split())


def test_bash_completion_offers_verbs_and_options():
    assert {"run", "check", "audit", "token", "version", "reload", "stop", "status"} <= complete("gatehouse", "")
    assert complete("gatehouse", "re") == {"reload"}
    assert complete("gatehouse", "audit", "--format", "s") == {"sarif", "svg"}
    assert "--verbose" in complete("gatehouse", "version", "--")
    assert "--admin" in complete("gatehouse", "status", "--")
    assert complete("gatehouse", "token", "") >= {"keygen", "jwks", "mint"}
    # The verbs that ask a running gateway: every option their --help names.
    for verb in ("reload", "stop", "status"):
        shown = subprocess.run([BIN, verb, "--help"], capture_output=True, text=True).stdout
        options = set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", shown))
        assert {"--admin", "--json"} <= options, shown
        assert options <= complete("gatehouse", verb, "--"), verb


LIBRARY_PACKAGES = {"openssl": "libssl3", "libuv": "libuv1", "nghttp2": "libnghttp2-14",
                    "libcurl": "libcurl4", "jansson": "libjansson4", "libyaml": "libyaml-0-2",
                    "pcre2": "libpcre2-8-0", "hiredis": "libhiredis0.14"}


def test_version_verbose_names_the_build_and_the_libraries_it_runs_with():
    p = subprocess.run([BIN, "version", "--verbose"], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    out = p.stdout
    assert out.startswith("gatehouse %s\n" % VERSION)
    epoch = commit_epoch()
    when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))
    assert "built:     %s (SOURCE_DATE_EPOCH=%d)" % (when, epoch) in out, out
    assert re.search(r"^compiler:  (gcc|clang) \d", out, re.M), out
    for name, package in LIBRARY_PACKAGES.items():
        m = re.search(r"^  %s +(.+)$" % name, out, re.M)
        assert m, name
        upstream = dpkg_version(package).split(":")[-1].split("-")[0]
        upstream = re.sub(r"[+~].*", "", upstream)
        assert upstream in m.group(1), (name, m.group(1), upstream)
    bad = subprocess.run([BIN, "version", "--verbos"], capture_output=True, text=True)
    assert bad.returncode == 2 and "--verbos" in bad.stderr


def test_sbom_lists_the_linked_packages_at_their_installed_versions():
    make("sbom")
    with open(os.path.join(ROOT, "build", "gatehouse.cdx.json")) as f:
        bom = json.load(f)
    assert bom["bomFormat"] == "CycloneDX" and bom["specVersion"] == "1.5"
    assert re.fullmatch(r"urn:uuid:[0-9a-f-]{36}", bom["serialNumber"])
    assert bom["metadata"]["component"]["name"] == "gatehouse"
    assert bom["metadata"]["component"]["version"] == VERSION
    arch = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True).stdout.strip()
    listed = subprocess.run(["dpkg-query", "-W", "-f=${Package}\t${Version}\n",
                             *[c["name"] for c in bom["components"]]],
                            capture_output=True, text=True, check=True).stdout
    versions = dict(line.split("\t") for line in listed.splitlines())
    names = set()
    for c in bom["components"]:
        version = versions[c["name"]]
        assert c["version"] == version, c
        assert c["purl"] == "pkg:deb/debian/%s@%s?arch=%s" % (
            c["name"], urllib.parse.quote(version, safe=".~-_"), arch), c
        names.add(c["name"])
    assert set(LIBRARY_PACKAGES.values()) | {"libc6", "libssl-dev", "libuv1-dev"} <= names
    required = {c["bom-ref"] for c in bom["components"] if c["scope"] == "required"}
    assert set(bom["dependencies"][0]["dependsOn"]) == required


def test_the_package_version_is_the_release():
    head = open(os.path.join(ROOT, "debian", "changelog")).readline()
    assert head.startswith("gatehouse (%s) " % VERSION), head


@pytest.fixture(scope="module")
def deb(tmp_path_factory):
    """The package of this tree, built once for the module, extracted into a scratch root."""
    started = time.time()
    make("deb", timeout=1200)
    print("make deb took %.0f s" % (time.time() - started))
    debs = [f for f in os.listdir(os.path.join(ROOT, "build", "deb"))
            if re.fullmatch(r"gatehouse_%s_[a-z0-9]+\.deb" % re.escape(VERSION), f)]
    assert len(debs) == 1, debs
    path = os.path.join(ROOT, "build", "deb", debs[0])
    root = tmp_path_factory.mktemp("debroot")
    subprocess.run(["dpkg-deb", "-x", path, str(root)], check=True)
    control = tmp_path_factory.mktemp("debcontrol")
    subprocess.run(["dpkg-deb", "-e", path, str(control)], check=True)
    return {"path": path, "root": root, "control": control}


# Lintian tags that are not errors and why they stay (docs/deployment.md lists them too).
LINTIAN_EXPLAINED = {
    # The service is started by systemd only; Debian 12 boots with systemd.
    "package-supports-alternative-init-but-no-init.d-script",
}


@needs_release
@pytest.mark.skipif(not shutil.which("lintian"), reason="lintian is not installed")
def test_lintian_finds_no_errors(deb):
    p = subprocess.run(["lintian", "--info", "--display-level", ">=pedantic", deb["path"]],
                       capture_output=True, text=True)
    tags = [l for l in p.stdout.splitlines() if re.match(r"^[EWIPX]: ", l)]
    assert not [t for t in tags if t.startswith("E: ")], "\n".join(tags)
    unexplained = [t for t in tags if t.split()[2] not in LINTIAN_EXPLAINED]
    assert not unexplained, "\n".join(unexplained)


@needs_release
def test_the_extracted_package_checks_its_own_configuration(deb):
    root = deb["root"]
    p = subprocess.run([str(root / "usr/bin/gatehouse"), "check", "-c", str(root / "etc/gatehouse/gatehouse.yaml")],
                       capture_output=True, text=True)
    assert p.returncode == 0 and ": ok (" in p.stdout, p.stdout + p.stderr
    control = deb["control"]
    assert (control / "conffiles").read_text().split() == ["/etc/gatehouse/gatehouse.yaml"]
    postinst = (control / "postinst").read_text()
    assert "adduser --system" in postinst and "gatehouse" in postinst
    assert "deb-systemd-helper" in postinst and "gatehouse.service" in postinst
    assert (root / "lib/systemd/system/gatehouse.service").is_file()
    assert (root / "usr/share/man/man8/gatehouse.8.gz").is_file()
    assert (root / "usr/share/man/man5/gatehouse.yaml.5.gz").is_file()
    assert "License: Apache-2.0" in (root / "usr/share/doc/gatehouse/copyright").read_text()


@needs_release
def test_the_sha256_manifest_covers_every_file_of_the_package(deb):
    root = deb["root"]
    manifest = (root / "usr/share/doc/gatehouse/SHA256SUMS").read_text()
    listed = {line.split("  ", 1)[1] for line in manifest.splitlines()}
    files = {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}
    assert listed == files - {"usr/share/doc/gatehouse/SHA256SUMS"}
    p = subprocess.run(["sha256sum", "--check", "--quiet", "-"], input=manifest, cwd=root,
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr
    beside = open(os.path.join(ROOT, "build", "deb", "gatehouse_%s.sha256" % VERSION)).read()
    p = subprocess.run(["sha256sum", "--check", "-"], input=beside, cwd=os.path.join(ROOT, "build", "deb"),
                       capture_output=True, text=True)
    assert p.returncode == 0 and os.path.basename(deb["path"]) in beside, p.stdout + p.stderr


def build_id(path):
    out = subprocess.run(["readelf", "-n", path], capture_output=True, text=True, check=True).stdout
    return re.search(r"Build ID: ([0-9a-f]+)", out).group(1)


@needs_release
def test_the_package_binary_is_the_one_make_builds_elsewhere(deb, tmp_path):
    """Two builds of this tree in two folders (the checkout and build/deb/...), byte for byte.
    The package's copy went through dh_strip: strip the release build the same way and drop
    the debug link the package adds. The build IDs hash the unstripped files, debug
    information (with its source paths) included."""
    packaged = str(deb["root"] / "usr/bin/gatehouse")
    make("build/rel/gatehouse")
    assert build_id(packaged) == build_id(REL_BIN)
    a, b = str(tmp_path / "packaged"), str(tmp_path / "made")
    subprocess.run(["objcopy", "--remove-section=.gnu_debuglink", packaged, a], check=True)
    subprocess.run(["strip", "--remove-section=.comment", "--remove-section=.note", "-o", b, REL_BIN], check=True)
    with open(a, "rb") as fa, open(b, "rb") as fb:
        assert fa.read() == fb.read()
    with open(REL_BIN, "rb") as f:
        assert ROOT.encode() not in f.read()  # the build folder never reaches the binary


def test_the_container_image_installs_the_package_with_apt_only():
    text = open(os.path.join(ROOT, "packaging", "Dockerfile")).read()
    assert re.search(r"^FROM debian:12-slim", text, re.M)
    assert re.search(r"apt-get install .*\./gatehouse_\S*\.deb", text)
    assert re.search(r"^USER gatehouse$", text, re.M)
    assert not re.search(r"\b(curl|wget|pip|npm)\b", text)
