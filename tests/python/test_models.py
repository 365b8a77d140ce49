"""sinklab.load / Model: forward equal to the CLI, run_with_cache equal to transformers'
output_attentions, run_with_hooks as TransformerLens users write hooks, errors."""
import json

import numpy as np
import pytest

import sinklab
from conftest import ROOT, np_

PROMPT = "The capital of France is"


def test_smollm2_forward_equals_cli_run(cli, smollm2):
    _, out, _ = cli("llm", "run", smollm2.path, PROMPT, "--top", 5, "--json")
    want = json.loads(out)
    ids = smollm2.tokenize(PROMPT)
    assert np_(ids)[0].tolist() == want["ids"]
    logits = np_(smollm2.forward(ids))[0, -1].astype(np.float64)
    p = np.exp(logits - logits.max())
    p /= p.sum()
    top = np.argsort(-p)[:5]
    assert top.tolist() == [n["id"] for n in want["next"]]
    for i, n in zip(top, want["next"]):
        assert logits[i] == pytest.approx(n["logit"], abs=1e-5)
        assert p[i] == pytest.approx(n["p"], abs=1e-6)
    assert smollm2.to_str_tokens(ids)[-1] == " is"


def test_run_with_cache_equals_transformers(llama_reference):
    m = sinklab.load(str(ROOT / "tests" / "data" / "hf" / "llama"))
    ids = np.array(llama_reference["ids"], dtype=np.int64)
    logits, cache = m.run_with_cache(ids, names=["blocks.*.attn.hook_pattern", "blocks.0.hook_resid_post"])
    assert sorted(cache) == ["blocks.0.attn.hook_pattern", "blocks.0.hook_resid_post", "blocks.1.attn.hook_pattern"]
    for layer, ref in enumerate(llama_reference["attentions"]):
        got = np_(cache[f"blocks.{layer}.attn.hook_pattern"])
        assert got.shape == np.shape(ref)  # [batch, head, query, key]
        np.testing.assert_allclose(got, ref, atol=1e-5)  # float32, two implementations (and LibTorch 1.13 or 2.x)
    np.testing.assert_allclose(np_(cache["blocks.0.hook_resid_post"]), llama_reference["hidden_states"][0], atol=2e-5)
    np.testing.assert_allclose(np_(logits), llama_reference["logits"], atol=2e-4)
    # every hook point at once, and one sequence as a 1-D input
    _, everything = m.run_with_cache(ids[0])
    assert set(everything) <= set(m.hook_names()) and len(everything) > 10
    np.testing.assert_allclose(np_(everything["blocks.1.attn.hook_pattern"])[0], llama_reference["attentions"][1][0],
                               atol=1e-5)


def test_run_with_hooks_tl_style(smollm2):
    ids = smollm2.tokenize(PROMPT)
    base = np_(smollm2.forward(ids)).copy()
    seen = []

    def look(act, hook):
        seen.append((hook.name, hook.layer, tuple(act.shape)))

    same = np_(smollm2.run_with_hooks(ids, fwd_hooks=[("blocks.3.attn.hook_pattern", look)]))
    np.testing.assert_array_equal(same, base)
    assert seen == [("blocks.3.attn.hook_pattern", 3, (1, smollm2.n_heads, ids.shape[-1], ids.shape[-1]))]

    def zero_head(pattern, hook):
        pattern[:, 5] = 0  # in place, returns None: the edit counts (TransformerLens style)

    def zero_head_returned(pattern, hook):
        out = pattern.clone() if hasattr(pattern, "clone") else pattern.copy()
        out[:, 5] = 0
        return out

    a = np_(smollm2.run_with_hooks(ids, fwd_hooks=[("blocks.3.attn.hook_pattern", zero_head)]))
    b = np_(smollm2.run_with_hooks(ids, fwd_hooks=[("blocks.3.attn.hook_pattern", zero_head_returned)]))
    np.testing.assert_array_equal(a, b)
    assert np.abs(a - base).max() > 1e-4
    np.testing.assert_array_equal(np_(smollm2.forward(ids)), base)  # the model is unchanged afterwards


def test_hook_errors_leave_the_model_usable(smollm2):
    ids = smollm2.tokenize(PROMPT)
    base = np_(smollm2.forward(ids)).copy()
    with pytest.raises(ValueError, match="unknown hook name 'blocks.0.attn.hook_nope'"):
        smollm2.run_with_hooks(ids, fwd_hooks=[("blocks.0.attn.hook_nope", lambda a, h: None)])
    with pytest.raises(ValueError, match="the model has 30 layers"):
        smollm2.run_with_hooks(ids, fwd_hooks=[("blocks.99.hook_resid_post", lambda a, h: None)])
    with pytest.raises(ValueError, match="returned shape"):
        smollm2.run_with_hooks(ids, fwd_hooks=[("blocks.2.hook_resid_post", lambda a, h: a[:, :1])])

    def boom(a, h):
        raise RuntimeError("my hook failed")

    with pytest.raises(RuntimeError, match="my hook failed"):
        smollm2.run_with_hooks(ids, fwd_hooks=[("blocks.2.hook_resid_post", boom)])
    with pytest.raises(ValueError, match="not an array"):
        smollm2.run_with_hooks(ids, fwd_hooks=[("blocks.2.hook_resid_post", lambda a, h: {"x": 1})])
    with pytest.raises(TypeError):
        smollm2.run_with_hooks(ids, fwd_hooks=["blocks.2.hook_resid_post"])
    with pytest.raises(ValueError, match="outside the model's vocabulary"):
        smollm2.forward(np.array([[1, 10**9]]))
    with pytest.raises(ValueError, match="integer ids"):
        smollm2.forward(np.array([[0.5, 1.5]]))
    with pytest.raises(ValueError, match="unknown hook"):
        smollm2.run_with_cache(ids, names=["nope"])
    with pytest.raises(TypeError):
        smollm2.tokenize(42)
    np.testing.assert_array_equal(np_(smollm2.forward(ids)), base)


def test_load_errors(tmp_path):
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"GGUF\x03\x00\x00\x00truncated")
    with pytest.raises(ValueError, match="bad.gguf"):
        sinklab.load(str(bad))
    with pytest.raises(ValueError):
        sinklab.load(str(tmp_path / "missing.gguf"))


def test_arrays_view_the_engines_memory(smollm2):
    logits = smollm2.forward(smollm2.tokenize(PROMPT))
    if sinklab.TENSOR_TYPE == "numpy":
        assert isinstance(logits, np.ndarray) and not logits.flags["OWNDATA"] and logits.base is not None
    else:
        import torch

        assert isinstance(logits, torch.Tensor) and logits.dtype == torch.float32
        assert not logits.numpy().flags["OWNDATA"]


def test_hook_wildcard_runs_at_every_layer(smollm2):
    ids = smollm2.tokenize(PROMPT)
    layers = []
    smollm2.run_with_hooks(ids, fwd_hooks=[("blocks.*.hook_attn_out", lambda a, h: layers.append(h.layer))])
    assert layers == list(range(smollm2.n_layers))
