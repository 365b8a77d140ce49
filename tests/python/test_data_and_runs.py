"""sinklab.bb, sinklab.train, Run, analyze: equal to the CLI on the same inputs."""
import json
import os

import numpy as np
import pytest

import sinklab
from conftest import np_


def test_version_is_the_clis(cli):
    assert sinklab.__version__ == "0.1.0"
    _, out, _ = cli("--version")
    assert sinklab.__version__ in out and sinklab.LIBTORCH_VERSION.split("+")[0] in out
    assert sinklab.TENSOR_TYPE in ("torch", "numpy")


def test_bb_batch_equals_cli_sample(cli):
    task = sinklab.bb.Task(source="shakespeare", seq_len=32)
    b = task.batch(seed=5, n=4)
    _, out, _ = cli("data", "sample", "--json", "-n", 4, "-T", 32, "--seed", 5)
    rows = json.loads(out)
    tokens = np_(b["tokens"])
    assert tokens.shape == (4, 33) and tokens.dtype == np.int64
    for i, r in enumerate(rows):
        assert tokens[i].tolist() == r["ids"]
        # the CLI marks roles per token; the batch per query position (token t predicts t+1)
        assert np_(b["is_trigger"])[i].tolist() == r["trigger"][:32]
    assert tokens[:, 0].tolist() == [task.bos_id] * 4
    assert task.triggers == ["␣", "e", "t"] or len(task.triggers) == 3


def test_oracle_loss_equals_cli_stats(cli):
    task = sinklab.bb.Task(source="shakespeare", seq_len=32)
    got = task.oracle_loss(seed=0, n_seqs=2000)
    _, out, _ = cli("data", "stats", "--json", "-T", 32)
    want = json.loads(out)
    assert got["loss"] == pytest.approx(want["oracle_loss"]["all"], rel=1e-12)
    assert got["loss_nontrigger"] == pytest.approx(want["oracle_loss"]["nontrigger"], rel=1e-12)
    assert got["trigger_fraction"] == pytest.approx(want["trigger_fraction"], rel=1e-12)
    # the oracle's per-position loss in a batch has the same mean, to sampling error
    b = task.batch(seed=1, n=256)
    assert float(np_(b["oracle_entropy"]).mean()) == pytest.approx(got["loss"], abs=0.05)


def test_bad_task_is_the_clis_message(cli):
    rc, _, err = cli("data", "stats", "--task", "nope", check=False)
    assert rc == 2
    with pytest.raises(ValueError) as e:
        sinklab.bb.Task(task="nope")
    assert str(e.value) in err
    with pytest.raises(TypeError):
        sinklab.bb.Task(seq_len="32")
    with pytest.raises(ValueError):
        sinklab.bb.Task(seq_len=32).batch(seed=0, n=0)


def test_train_equals_cli_train(cli, tmp_path):
    a, b = tmp_path / "cli", tmp_path / "py"
    cli("train", "--preset", "tiny", "--set", "train.steps=20", "--set", "train.threads=1", "-o", a)
    run = sinklab.train("tiny", steps=20, threads=1, out=str(b))
    assert isinstance(run, sinklab.Run) and run.dir == str(b)
    cli_rows = [json.loads(line) for line in open(a / "metrics.jsonl") if line.strip()]
    py_rows = run.metrics if isinstance(run.metrics, list) else run.metrics.to_dict("records")
    assert [r["loss"] for r in py_rows] == [r["loss"] for r in cli_rows]
    assert run.checkpoints == sorted(run.checkpoints) and run.checkpoints[-1] == 20
    names = sorted(os.listdir(a / "checkpoints"))
    assert names == sorted(os.listdir(b / "checkpoints"))
    weights = [n for n in names if n.endswith(".safetensors")]  # (torch's .optim.pt archives carry a random id)
    assert len(weights) >= 2
    for n in weights:
        assert (a / "checkpoints" / n).read_bytes() == (b / "checkpoints" / n).read_bytes(), n


def test_overrides_bad_keys(tmp_path):
    with pytest.raises(ValueError, match="not a config key"):
        sinklab.train("tiny", stepz=3, out=str(tmp_path / "x"))
    with pytest.raises(ValueError, match="train.steps = 0"):
        sinklab.train("tiny", steps=0, out=str(tmp_path / "y"))
    with pytest.raises(ValueError):
        sinklab.Run(str(tmp_path))


def test_run_load_and_analyze_equal_cli(cli, tmp_path):
    run = sinklab.train("tiny", steps=30, threads=1, out=str(tmp_path / "r"))
    heads = sinklab.analyze(run)
    rows = heads if isinstance(heads, list) else heads.to_dict("records")
    assert rows and {"step", "layer", "head"} <= set(rows[0])
    py_csv = (tmp_path / "r" / "analysis" / "heads.csv").read_text()
    cli("analyze", tmp_path / "r")
    assert (tmp_path / "r" / "analysis" / "heads.csv").read_text() == py_csv
    m = run.load()
    task = sinklab.bb.Task(source="synthetic", seq_len=16)
    toks = np_(task.batch(seed=0, n=2)["tokens"])[:, :16]
    toks = np.minimum(toks, m.vocab_size - 1)
    logits = np_(m.forward(toks))
    assert logits.shape == (2, 16, m.vocab_size) and np.isfinite(logits).all()
    with pytest.raises(ValueError, match="no checkpoint at step 7"):
        run.load(7)
