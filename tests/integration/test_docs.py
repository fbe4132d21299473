"""The docs stay true: every YAML example in docs/configuration.md loads with `gatehouse check`,
its table of contents lists every section, the keys, metrics and events other pages name exist,
and the README's tour makes the configuration it says."""
import os
import re
import shutil
import subprocess
import textwrap

import pytest

from testenv import BIN, ROOT
from testenv.certs import CertAuthority

DOC = os.path.join(ROOT, "docs", "configuration.md")
DOC_TEXT = open(DOC).read()
EXAMPLES = re.findall(r"```yaml\n(.*?)```", DOC_TEXT, re.S)
SPAN = re.compile(r"`([^`]+)`")


def test_the_reference_has_examples():
    assert len(EXAMPLES) >= 8


def example_folder(tmp_path, index):
    """Example index written to tmp_path with what it names: its path, and the environment its
    secret references resolve in."""
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
    return path, env


@pytest.mark.parametrize("index", range(len(EXAMPLES)))
def test_example_loads(index, tmp_path):
    path, env = example_folder(tmp_path, index)
    p = subprocess.run([BIN, "check", "-c", str(path)], capture_output=True, text=True, env=env)
    assert p.returncode == 0, "example %d:\n%s\n%s" % (index, EXAMPLES[index], p.stderr)
    assert "warning" not in p.stderr, p.stderr


def test_the_demo_config_loads():
    subprocess.run([os.path.join(ROOT, "scripts", "demo-cert.sh")], check=True)  # as make demo does
    p = subprocess.run([BIN, "check", "-c", os.path.join(ROOT, "examples", "gatehouse.yaml")],
                       capture_output=True, text=True)
    assert p.returncode == 0 and p.stderr == "", p.stderr


def read_doc(name):
    with open(os.path.join(ROOT, "docs", name)) as f:
        return f.read()


def outside_fences(text):
    """The lines of a Markdown text that are not inside a fenced code block."""
    fence = False
    for line in text.split("\n"):
        if line.startswith("```"):
            fence = not fence
        elif not fence:
            yield line


def cells(row):
    return [c.strip() for c in row.strip().strip("|").split("|")]


def github_anchor(title, seen):
    """The id GitHub gives a heading: lower case, punctuation but `-` and `_` dropped, spaces
    made `-`, a repeated id numbered."""
    slug = re.sub(r"[^\w\- ]", "", title.strip().lower()).replace(" ", "-")
    n = seen.get(slug, 0)
    seen[slug] = n + 1
    return "%s-%d" % (slug, n) if n else slug


def test_the_contents_list_every_section_in_order():
    seen = {}
    sections = [(line.split(" ", 1)[1], github_anchor(line.split(" ", 1)[1], seen))
                for line in outside_fences(DOC_TEXT) if re.match(r"#{2,3} ", line)]
    contents = DOC_TEXT[DOC_TEXT.index("Contents:"):DOC_TEXT.index("\n## ")]
    listed = re.findall(r"^ *- \[(.*)\]\(#([^)]*)\)$", contents, re.M)
    assert len(sections) >= 30
    anchors = [a for _, a in sections]
    assert [s for s in sections if s not in listed] == [], "sections missing from the contents"
    assert [l for l in listed if l[1] not in anchors] == [], "contents links to no section"
    assert listed == sections, "the contents are not in the order of the sections"


def documented_keys():
    """Every key path docs/configuration.md documents, from the top: `limits.max_body_bytes`,
    `routes[].body.max_bytes`, `upstreams.<name>.retry.attempts`, ... A key table's rows are
    keys of the object its section names (the `limits` section), of the one its third-level
    heading names ("Request bodies: `body`" under `routes[]`), or of the one its header names
    ("`routes[].retry` key")."""
    keys, dotted = set(), []
    section, spans, table = "", [], None
    for line in outside_fences(DOC_TEXT):
        if line.startswith("## "):
            found = SPAN.findall(line)
            section, spans, table = (found[0] if found else ""), [], None
            keys.update(s for s in found if "." in s or "[" in s)
        elif line.startswith("### "):
            stem = re.match(r"[a-z_]*", section).group(0)
            spans = [s if not section or s.startswith(stem) else section + "." + s
                     for s in SPAN.findall(line)]
            keys.update(spans)
            table = None
        elif not line.startswith("|"):
            table = None
        elif table is None:  # a table's header: a key table's first column is "key" or "`X` key"
            first = cells(line)[0]
            table = (SPAN.findall(first) or "rows") if first == "key" or first.endswith(" key") else []
        elif table and not set(cells(line)[0]) <= set("-: "):
            for key in SPAN.findall(cells(line)[0]):
                if table != "rows":
                    prefixes = table
                elif spans:  # the section on `fault` documents `fault.header`: routes[]'s
                    prefixes = [s.rsplit(".", 1)[0] for s in spans
                                if s.rsplit(".", 1)[-1] == key.split(".")[0]] or spans
                else:
                    prefixes = [section]
                keys.update(p + "." + key if p else key for p in prefixes)
                dotted += [key] if "." in key else []
    for key in dotted:  # `forward.claims`, documented beside the JWT provider, is routes[].forward's
        head = key.split(".")[0]
        keys.update(d[:len(d) - len(head)] + key for d in list(keys) if d == head or d.endswith("." + head))
    # The objects that hold documented keys exist too (`upstreams.<name>.retry`).
    keys.update(k[:i] for k in list(keys) for i, c in enumerate(k) if c == ".")
    return keys


def top_level_keys():
    table = DOC_TEXT[DOC_TEXT.index("## Top level"):DOC_TEXT.index("## `listeners[]`")]
    return {SPAN.findall(row)[0] for row in table.splitlines()[4:] if row.startswith("| `")}


def key_path(span, top):
    """The configuration key a code span names (`routes[].auth: {jwt: NAME}` names
    `routes[].auth`), or None when it names none (a value, a command, a metric)."""
    path = re.sub(r"\[\d+\]", "[]", re.match(r"[A-Za-z0-9_.\[\]<>]*", span).group(0))
    head = re.match(r"[a-z_0-9]*", path).group(0)
    return path if head in top and path[len(head):len(head) + 1] in ("", ".", "[") else None


def test_the_key_checker_knows_keys_from_typos():
    keys = documented_keys()
    for real in ("limits.max_body_bytes", "routes[].body.max_bytes", "routes[].forward.claims",
                 "upstreams.<name>.health.http.path", "routes[].auth.mtls.spiffe_ids",
                 "routes[].retry.on", "listeners[].tls.certificate", "workers"):
        assert real in keys, real
    for typo in ("limits.max_bytes", "upstreams.<name>.read_timeout", "routes[].max_body_bytes",
                 "listeners[].certificate", "upstreams.<name>.health.interval"):
        assert typo not in keys, typo


def test_keys_named_in_coming_from_are_documented():
    """Every key path the page names, in its Gatehouse column and in its notes and prose (a
    path from the top, `upstreams.<name>.health.http.interval`; the other products' own
    directives are not paths of ours and are left alone)."""
    keys, top, named, notes = documented_keys(), top_level_keys(), [], []
    column = None
    for line in outside_fences(read_doc("coming-from.md")):
        if not line.startswith("|"):
            column = None
            notes += [k for k in (key_path(s, top) for s in SPAN.findall(line)) if k]
            continue
        row = cells(line)
        if column is None:
            column = next((i for i, c in enumerate(row) if "Gatehouse" in c), -1)
        elif column >= 0 and len(row) > column:
            named += [k for k in (key_path(s, top) for s in SPAN.findall(row[column])) if k]
            notes += [k for c in row[column + 1:] for k in (key_path(s, top) for s in SPAN.findall(c)) if k]
    assert len(named) >= 60
    assert sorted(set(k for k in named + notes if k not in keys)) == []


def test_keys_named_in_operations_are_documented():
    keys, top = documented_keys(), top_level_keys()
    named = [k for k in (key_path(s, top) for line in outside_fences(read_doc("operations.md"))
                         for s in SPAN.findall(line)) if k]
    assert len(named) >= 30
    assert sorted(set(k for k in named if k not in keys)) == []


def test_metrics_named_in_the_docs_are_exposed(gateway_for):
    # A Redis store makes the gateway expose its metrics too; nothing needs to answer there.
    g = gateway_for("""
stores:
  redis: {address: 127.0.0.1:1, timeout: 50ms}
rate_limits:
  shared: {key: client_ip, rate: 10/s, store: redis}
routes:
  - {name: all, match: {prefix: /}, auth: none, rate_limit: shared, respond: {status: 204}}
""")
    exposed = set(re.findall(r"^# TYPE (gatehouse_\w+)", g.metrics(), re.M))
    assert len(exposed) >= 40
    for doc in ("operations.md", "configuration.md", "security.md", "coming-from.md"):
        named = set(re.sub(r"_(bucket|sum|count)$", "", m) if m not in exposed else m
                    for m in re.findall(r"\bgatehouse_\w+", read_doc(doc)))
        assert sorted(named - exposed) == [], doc


def test_events_named_in_operations_are_emitted():
    """Every `name` event operations.md names is one the code logs (gh_event and the helpers
    around it)."""
    emitted = set()
    for folder, _, files in os.walk(os.path.join(ROOT, "src")):
        for name in files:
            if name.endswith(".c"):
                with open(os.path.join(folder, name)) as f:
                    for call in re.findall(r"\b(?:gh_event|gh_event_built|event_for|event)\((.*?)\);", f.read(), re.S):
                        emitted.update(re.findall(r'"([a-z][a-z0-9_]*)"', call))
    named = set(re.findall(r"`([a-z][a-z0-9_]*)` events?(?![\w-])", read_doc("operations.md")))
    assert len(named) >= 10
    assert sorted(named - emitted) == []


def test_the_tours_own_configuration_works_as_written(tmp_path):
    """Step 6 of the README's tour, run as written in a copy of the checkout's examples: the
    file it makes passes `check` with the verdict the README quotes, the typo it makes is
    reported with the line the README quotes, and the fix it gives fixes it."""
    with open(os.path.join(ROOT, "README.md")) as f:
        readme = f.read()
    step = readme[readme.index("6. Put a real backend"):readme.index("7. Watch it:")]
    blocks = [textwrap.dedent(b) for b in re.findall(r"   ```sh\n(.*?)   ```", step, re.S)]
    subprocess.run([os.path.join(ROOT, "scripts", "demo-cert.sh")], check=True)  # as make demo does
    shutil.copytree(os.path.join(ROOT, "examples"), tmp_path / "examples",
                    ignore=shutil.ignore_patterns("my.yaml"))
    shutil.copytree(os.path.join(ROOT, "build", "demo"), tmp_path / "build" / "demo")

    def run(commands):
        commands = "\n".join(l for l in commands.splitlines() if " reload " not in l)
        return subprocess.run(["bash", "-euc", commands.replace("build/rel/gatehouse", BIN)],
                              cwd=str(tmp_path), capture_output=True, text=True)

    made = run(blocks[1])
    assert made.returncode == 0, made.stderr
    assert re.search(r"`check` answers `([^`]*)`", step).group(1) in made.stdout
    typo = run(blocks[2] + "\nbuild/rel/gatehouse check -c examples/my.yaml")
    assert typo.returncode == 1
    assert re.search(r"among them\s+`([^`]*)`", step).group(1) in typo.stderr.splitlines()
    fixed = run(re.search(r"Put it right with `([^`]*)`", step).group(1)
                + "\nbuild/rel/gatehouse check -c examples/my.yaml")
    assert fixed.returncode == 0, fixed.stderr
