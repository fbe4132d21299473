"""The gateway's own gzip (src/core/gzip.c: deflate with the fixed codes), inflated by zlib: the
unit test tests/unit/test_otlp_json.c packs inputs at the format's edges (nothing to match,
matches of 258 bytes, a repetition 32768 bytes back and one just past the window, 9-bit
literals, a batch-sized body) and writes them out; each must inflate to its input exactly."""
import os
import subprocess
import zlib

from testenv import BIN

UNIT = os.path.join(os.path.dirname(BIN), "tests", "test_otlp_json")


def test_gzip_inflates_to_its_input(tmp_path):
    env = dict(os.environ, GH_GZIP_OUT=str(tmp_path))
    p = subprocess.run([UNIT], env=env, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr
    cases = sorted(f[:-3] for f in os.listdir(tmp_path) if f.endswith(".gz"))
    assert len(cases) == 7
    for c in cases:
        packed = (tmp_path / (c + ".gz")).read_bytes()
        original = (tmp_path / (c + ".in")).read_bytes()
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)  # a gzip member, its CRC and size checked
        assert d.decompress(packed) + d.flush() == original, "case %s" % c
        assert d.eof and d.unused_data == b"", "case %s" % c
