"""Every YAML example in docs/configuration.md loads with `gatehouse check`."""
import os
import re
import shutil
import subprocess

import pytest

from testenv import BIN, ROOT
from testenv.certs import CertAuthority

DOC = os.path.join(ROOT, "docs", "configuration.md")
EXAMPLES = re.findall(r"```yaml\n(.*?)```", open(DOC).read(), re.S)


def test_the_reference_has_examples():
    assert len(EXAMPLES) >= 8


@pytest.mark.parametrize("index", range(len(EXAMPLES)))
def test_example_loads(index, tmp_path):
    path = tmp_path / ("example-%d.yaml" % index)
    path.write_text(EXAMPLES[index])
    # Examples name the example key files the way the demo does: keys/... next to the file,
    # and TLS certificates made now.
    shutil.copytree(os.path.join(ROOT, "examples", "keys"), tmp_path / "keys")
    ca = CertAuthority(str(tmp_path / "keys"))
    for stem, name in (("api", "api.example.com"), ("wildcard", "*.example.com")):
        cert, key = ca.issue(stem, name, dns=[name])
        os.rename(cert, str(tmp_path / "keys" / (stem + ".crt")))
        os.rename(key, str(tmp_path / "keys" / (stem + ".key")))
    shutil.copy(ca.ca_file, str(tmp_path / "keys" / "partners-ca.crt"))
    # The examples' secret references resolve to values a deployment would provide.
    env = dict(os.environ, SESSION_SIGNING_KEY="k" * 48, GITHUB_WEBHOOK_SECRET="w" * 32,
               GATEHOUSE_ADMIN_TOKEN="a" * 32)
    p = subprocess.run([BIN, "check", "-c", str(path)], capture_output=True, text=True, env=env)
    assert p.returncode == 0, "example %d:\n%s\n%s" % (index, EXAMPLES[index], p.stderr)
    assert "warning" not in p.stderr, p.stderr


def test_the_demo_config_loads():
    subprocess.run([os.path.join(ROOT, "scripts", "demo-cert.sh")], check=True)  # as make demo does
    p = subprocess.run([BIN, "check", "-c", os.path.join(ROOT, "examples", "gatehouse.yaml")],
                       capture_output=True, text=True)
    assert p.returncode == 0 and p.stderr == "", p.stderr
