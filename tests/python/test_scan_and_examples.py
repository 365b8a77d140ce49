"""sinklab.scan equal to `sinklab llm scan`; sinklab.reproduce; the examples run."""
import json
import os
import subprocess
import sys

import pytest

import sinklab
from conftest import ROOT


def test_scan_equals_cli_scan(cli, smollm2, tmp_path):
    dom = ROOT / "data" / "domains"
    args = ["--docs", 2, "--ctx", 32, "--ablate", "none", "--no-attribution", "--no-progress"]
    cli("llm", "scan", smollm2.path, "--domain", f"prose={dom / 'prose_wikipedia.jsonl'}", "--domain",
        f"code={dom / 'code_python.jsonl'}", *args, "-o", tmp_path / "cli")
    r = sinklab.scan(smollm2, domains={"prose": str(dom / "prose_wikipedia.jsonl"),
                                       "code": str(dom / "code_python.jsonl")},
                     docs=2, ctx=32, out=str(tmp_path / "py"))
    assert os.path.exists(r.report)
    rows = r.heads if isinstance(r.heads, list) else r.heads.to_dict("records")
    assert len(rows) == 2 * smollm2.n_layers * smollm2.n_heads
    for f in ("heads.csv", "layers.csv", "outliers.csv", "ranking.csv"):
        assert (tmp_path / "py" / f).read_text() == (tmp_path / "cli" / f).read_text(), f
    cli_summary = json.loads((tmp_path / "cli" / "summary.json").read_text())
    assert r.summary["top_heads"] == cli_summary["top_heads"]
    with pytest.raises(ValueError, match="non-empty dict"):
        sinklab.scan(smollm2, domains={})
    with pytest.raises(ValueError, match="--ctx"):
        sinklab.scan(smollm2, domains={"p": str(dom / "prose_wikipedia.jsonl")}, ctx=1, out=str(tmp_path / "bad"))


def test_reproduce_returns_claims(tmp_path):
    claims = sinklab.reproduce("quick", out=str(tmp_path / "rep"), seeds=1,
                               set={"train.steps": 20, "checkpoints.dense_until": 0})
    assert claims and {"id", "claim", "verdict", "measured"} <= set(claims[0])
    assert os.path.exists(claims[0]["report"])
    with pytest.raises(ValueError, match="scale"):
        sinklab.reproduce("huge", out=str(tmp_path / "x"))


@pytest.mark.parametrize("script,args,expect", [
    ("toy_sink.py", ["--steps", "300", "--out"], "sink mass"),
    ("smollm2_sink_heads.py", [], "sink heads"),
])
def test_examples_run(script, args, expect, tmp_path, smollm2):
    if "--out" in args:
        args = args + [str(tmp_path / "run")]
    p = subprocess.run([sys.executable, str(ROOT / "examples" / script), *args], capture_output=True, text=True,
                       env={**os.environ}, timeout=600)
    assert p.returncode == 0, p.stderr
    assert expect in p.stdout
