"""sinklab: attention sinks, value drains, residual peaks and active-dormant heads.

The Python door to the same C++ engine as the ``sinklab`` CLI (one library, the same
numbers). The nouns mirror the CLI's::

    import sinklab
    task = sinklab.bb.Task(source="shakespeare")          # sinklab data
    run = sinklab.train("cpu-1l", steps=500)              # sinklab train
    sinklab.analyze(run)                                  # sinklab analyze
    model = sinklab.load("SmolLM2-135M-Instruct")         # a GGUF file, HF directory or name
    logits, cache = model.run_with_cache(model.tokenize("The cat"),
                                         names=["blocks.*.attn.hook_pattern"])
    result = sinklab.scan(model, domains={"prose": "data/domains/prose_wikipedia.jsonl"})

Arrays: activations and logits are ``torch.Tensor`` when the process's torch is the
LibTorch sinklab links (same version; the tensor shares sinklab's memory), NumPy arrays
otherwise (``sinklab.TENSOR_TYPE`` says which). Bad input raises ``ValueError`` with the
CLI's one-line message; the model stays usable after any error.
"""
from __future__ import annotations

import csv
import json
import os
import re
import sys
from importlib import metadata as _metadata
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

# The CLI runs its OpenMP threads passive (src/io/omp_env.h); so does the module, unless
# the user chose otherwise. Must be set before libgomp starts.
os.environ.setdefault("OMP_WAIT_POLICY", "passive")
# The sentencepiece shim installed beside the module (pip install); the build tree's
# module finds the one in the build directory itself.
_here = Path(__file__).resolve().parent
if (_here / "libsinklab_spm.so").exists():
    os.environ.setdefault("SINKLAB_SPM_SHIM", str(_here / "libsinklab_spm.so"))


def _release(version: str) -> str:
    """"2.15.0+cu132" -> "2.15.0"; Debian's "1.13.0a0+gitunknown" -> "1.13.0"."""
    m = re.match(r"\d+(\.\d+)*", version)
    return m.group(0) if m else version


def _torch_if_same() -> Any:
    """torch, imported, when its version is the LibTorch sinklab links; else None.

    Read from the package metadata first, so a different torch is never imported (two
    LibTorch builds cannot share one process)."""
    want = _release(_LIBTORCH)
    loaded = sys.modules.get("torch")
    if loaded is not None:
        have = _release(str(getattr(loaded, "__version__", "")))
        if have != want:
            raise ImportError(
                f"sinklab links LibTorch {want} but this process already has torch {have} loaded; "
                f"use a Python whose torch is {want} (or import sinklab in a process without torch)")
        return loaded
    try:
        have = _release(_metadata.version("torch"))
    except _metadata.PackageNotFoundError:
        return None
    if have != want:
        return None
    import torch  # noqa: F401  (loads the same libtorch sinklab's module links)
    return torch


def _libtorch_version() -> str:
    try:
        with open(_here / "LIBTORCH_VERSION") as f:
            return f.read().strip()
    except OSError:
        return ""


_LIBTORCH = _libtorch_version()
_torch = _torch_if_same() if _LIBTORCH else None
from . import _core  # noqa: E402  (after torch, so both use one LibTorch)

if not _LIBTORCH:
    _LIBTORCH = _core.libtorch_version
    _torch = _torch_if_same()

__version__: str = _core.version
LIBTORCH_VERSION: str = _core.libtorch_version
TENSOR_TYPE: str = "torch" if _torch is not None else "numpy"
Array = Any  # torch.Tensor or numpy.ndarray (see TENSOR_TYPE)


def _out(a: Any) -> Array:
    """An array from the engine as the caller's tensor type (no copy)."""
    return _torch.from_numpy(a) if _torch is not None else a


def _in(a: Any) -> Any:
    """A torch tensor, NumPy array or nested list as something the engine reads."""
    if _torch is not None and isinstance(a, _torch.Tensor):
        return a.detach().cpu().numpy()
    import numpy as np

    return np.asarray(a)


# ------------------------------------------------------------------ config overrides
def _config_keys() -> List[str]:
    return list(_core.config_keys())


def _overrides(overrides: Mapping[str, Any]) -> List[str]:
    """``steps=500`` or ``{"train.steps": 500}`` -> ``["train.steps=500"]``.

    A short key names the one config key with that last part (``lr`` -> ``train.lr``,
    ``attention`` -> ``model.attention``); ValueError for unknown or ambiguous keys."""
    keys = _config_keys()
    out = []
    for k, v in overrides.items():
        full = k
        if k not in keys:
            hits = [x for x in keys if x.split(".", 1)[-1] == k]
            if len(hits) != 1:
                what = "is ambiguous: " + ", ".join(hits) if hits else "is not a config key"
                raise ValueError(f"override '{k}' {what} (keys: {', '.join(keys)})")
            full = hits[0]
        if isinstance(v, bool):
            text = "true" if v else "false"
        elif isinstance(v, (list, tuple)):
            text = json.dumps(list(v))
        else:
            text = str(v)
        out.append(f"{full}={text}")
    return out


def _rows(path: Union[str, Path]) -> List[Dict[str, Any]]:
    """A CSV file as a list of dicts, numbers as floats."""
    def num(x: str) -> Any:
        try:
            return float(x)
        except ValueError:
            return x
    with open(path, newline="") as f:
        return [{k: num(v) for k, v in r.items()} for r in csv.DictReader(f)]


def _table(rows: List[Dict[str, Any]]) -> Any:
    """A pandas DataFrame when pandas is installed, else the list of dicts."""
    try:
        import pandas as pd
    except ImportError:
        return rows
    return pd.DataFrame(rows)


# ------------------------------------------------------------------ models
HookFn = Callable[[Array, "Hook"], Optional[Array]]


class Hook:
    """What a hook function receives beside the activation (TransformerLens's HookPoint):
    ``hook.name`` is the full hook name, ``hook.layer`` its layer (None outside blocks)."""

    def __init__(self, name: str):
        self.name = name
        parts = name.split(".")
        self.layer: Optional[int] = int(parts[1]) if parts[0] == "blocks" and len(parts) > 1 else None

    def __repr__(self) -> str:
        return f"Hook({self.name!r})"


class Model:
    """A transformer held by sinklab: a pretrained model (``sinklab.load``) or a toy run's
    checkpoint (``Run.load``). Hook names follow TransformerLens (``Model.hook_names()``)."""

    def __init__(self, core: Any):
        self._m = core

    path = property(lambda self: self._m.path, doc="where the model was loaded from")
    arch = property(lambda self: self._m.arch, doc="architecture (llama, qwen2, ..., toy)")
    n_layers = property(lambda self: self._m.n_layers, doc="number of blocks")
    n_heads = property(lambda self: self._m.n_heads, doc="query heads per block")
    d_model = property(lambda self: self._m.d_model, doc="residual stream width")
    n_ctx = property(lambda self: self._m.n_ctx, doc="context length")
    vocab_size = property(lambda self: self._m.vocab_size, doc="vocabulary size")

    def __repr__(self) -> str:
        return f"sinklab.Model({self.path!r}, arch={self.arch}, layers={self.n_layers}, heads={self.n_heads})"

    def hook_names(self) -> List[str]:
        """Every hook name of this model, in forward order."""
        return list(self._m.hook_names())

    def tokenize(self, text: str, bos: Optional[bool] = None) -> Array:
        """Token ids of ``text`` with the model's own tokenizer (BOS as the tokenizer adds
        it, or forced with ``bos``), shape [1, n]."""
        if not isinstance(text, str):
            raise TypeError(f"tokenize takes a str, got {type(text).__name__}")
        import numpy as np

        ids = np.asarray(self._m.tokenize(text, bos), dtype=np.int64)[None, :]
        return _out(ids)

    def to_str_tokens(self, tokens: Any) -> List[str]:
        """The token texts of a sequence of ids (one sequence)."""
        import numpy as np

        ids = np.asarray(_in(tokens)).reshape(-1).astype(np.int32).tolist()
        return list(self._m.pieces(ids))

    def _tokens(self, tokens: Any) -> Any:
        return self.tokenize(tokens) if isinstance(tokens, str) else tokens

    def forward(self, tokens: Any) -> Array:
        """Logits [batch, tokens, vocab] for token ids ([tokens] or [batch, tokens]) or a string."""
        return _out(self._m.forward(_in(self._tokens(tokens))))

    __call__ = forward

    def run_with_cache(self, tokens: Any, names: Optional[Iterable[str]] = None) -> Tuple[Array, Dict[str, Array]]:
        """Logits and the activations at ``names`` (full hook names, ``*`` for every layer:
        ``"blocks.*.attn.hook_pattern"``; None: every hook point), keyed by hook name."""
        if isinstance(names, str):
            names = [names]
        logits, cache = self._m.run_with_cache(_in(self._tokens(tokens)), list(names or []))
        return _out(logits), {k: _out(v) for k, v in cache.items()}

    def run_with_hooks(self, tokens: Any, fwd_hooks: Sequence[Tuple[str, HookFn]] = ()) -> Array:
        """Logits with ``fn(activation, hook)`` called at each hook name (``*`` for every
        layer); ``fn`` may return a replacement of the same shape, or None (then in-place
        edits of the activation, a float32 copy, are used). An exception in ``fn``
        propagates; the model is unchanged."""
        hooks = []
        for item in fwd_hooks:
            if not (isinstance(item, (tuple, list)) and len(item) == 2 and isinstance(item[0], str) and callable(item[1])):
                raise TypeError("fwd_hooks must be a list of (hook name, function) pairs")
            pattern, fn = item
            # "blocks.*.attn.hook_z": the same function at every layer
            names = [pattern.replace("*", str(i), 1) for i in range(self.n_layers)] if "*" in pattern else [pattern]
            for name in names:

                def call(arr: Any, hook_name: str, fn: HookFn = fn) -> Any:
                    r = fn(_out(arr), Hook(hook_name))
                    return None if r is None else _in(r)

                hooks.append((name, call))
        return _out(self._m.run_with_hooks(_in(self._tokens(tokens)), hooks))


def load(model: str, weights: str = "stored", device: str = "cpu", dtype: str = "float32") -> Model:
    """A pretrained model: a GGUF file, a Hugging Face model directory, or a name sinklab
    finds in its cache (``"SmolLM2-135M-Instruct"``). ``weights="stored"`` keeps quantised
    matrices as stored (converted a layer at a time); ``"float32"`` converts all at load."""
    return Model(_core.load(str(model), weights, device, dtype))


# ------------------------------------------------------------------ toy runs
class Run:
    """A training run directory (``sinklab train`` / ``sinklab.train``)."""

    def __init__(self, run_dir: Union[str, Path]):
        self.dir = str(run_dir)
        if not os.path.isfile(os.path.join(self.dir, "config.toml")):
            raise ValueError(f"'{self.dir}' is not a run directory (no config.toml)")

    def __repr__(self) -> str:
        return f"sinklab.Run({self.dir!r})"

    @property
    def metrics(self) -> Any:
        """metrics.jsonl as a list of dicts (a pandas DataFrame when pandas is installed)."""
        rows = []
        with open(os.path.join(self.dir, "metrics.jsonl")) as f:
            for line in f:
                if line.strip():
                    rows.append(json.loads(line))
        return _table(rows)

    @property
    def checkpoints(self) -> List[int]:
        """The checkpoint steps, ascending."""
        return list(_core.list_checkpoints(self.dir))

    def load(self, step: Optional[int] = None) -> Model:
        """The model at checkpoint ``step`` (None: the last). Reads BB token ids (no tokenizer)."""
        return Model(_core.load_run(self.dir, -1 if step is None else int(step)))

    def analysis(self, table: str = "heads") -> Any:
        """A table written by ``sinklab.analyze`` (``loss``, ``heads`` or ``layers``)."""
        if table not in ("loss", "heads", "layers"):
            raise ValueError(f"table must be loss, heads or layers, got '{table}'")
        return _table(_rows(os.path.join(self.dir, "analysis", table + ".csv")))


def train(config: Optional[str] = None, *, preset: Optional[str] = None, out: Optional[str] = None,
          set: Optional[Mapping[str, Any]] = None, force: bool = False, progress: bool = False,
          **overrides: Any) -> Run:
    """Train a toy transformer (``sinklab train``) and return its Run.

    ``config``: a TOML file or a preset name (``"cpu-1l"``; or ``preset=``). Overrides as
    keywords with short keys (``steps=500, attention="relu"``) or ``set={"train.lr": 3e-3}``.
    ``out``: the run directory (default runs/<name>)."""
    if config is not None and preset is None and not os.path.exists(str(config)) and not str(config).endswith(".toml"):
        preset, config = str(config), None
    sets = _overrides({**(set or {}), **overrides})
    if out is not None:
        o = Path(out).resolve()
        sets += [f"run.out_dir={o.parent}", f"run.name={o.name}"]
    r = _core.train(preset or "", str(config or ""), sets, progress, force)
    if r["interrupted"]:
        raise KeyboardInterrupt(f"training interrupted at step {r['step']} (checkpoint written)")
    return Run(r["run_dir"])


def analyze(run: Union[Run, str], threshold: float = 0.5, progress: bool = False) -> Any:
    """``sinklab analyze``: per checkpoint, layer and head the sink metrics; writes
    RUN/analysis/*.csv and returns the heads table."""
    r = run if isinstance(run, Run) else Run(run)
    _core.analyze(r.dir, float(threshold), progress)
    return r.analysis("heads")


def reproduce(scale: str = "quick", out: str = "out/reproduce", seeds: int = 8, source: str = "shakespeare",
              set: Optional[Mapping[str, Any]] = None, force: bool = False, progress: bool = False) -> List[Dict[str, Any]]:
    """``sinklab reproduce``: the paper's toy experiments over seeds, judged as claims.
    Returns the claims (claims.json: id, claim, measured, threshold, verdict, per-seed values)."""
    r = _core.reproduce(scale, str(out), source, int(seeds), _overrides(set or {}), progress, force)
    with open(r["claims"]) as f:
        claims = json.load(f)
    for c in claims:
        c["report"] = r["report"]
    return claims


# ------------------------------------------------------------------ scans
class ScanResult:
    """The outcome of ``sinklab.scan``: ``summary`` (summary.json), ``heads`` (per layer,
    head and domain: sink mass, value drain, dormant or active), ``report`` (report.html)
    and ``dir``."""

    def __init__(self, out: str, summary: Dict[str, Any]):
        self.dir = out
        self.summary = summary
        self.report: str = summary["report"]
        self.heads = _table(_rows(os.path.join(out, "heads.csv")))

    def __repr__(self) -> str:
        return f"sinklab.ScanResult({self.dir!r}, report={self.report!r})"


def scan(model: Union[Model, str], domains: Mapping[str, str], out: str = "llm-scan", docs: int = 64,
         ctx: int = 256, ablate: str = "none", attribution: bool = False, bos: bool = True,
         threshold: float = 0.5, force: bool = False, progress: bool = False) -> ScanResult:
    """``sinklab llm scan``: where each head's attention goes per domain, dormant vs active
    heads, optional ablations (``ablate="top:8"``, ``"all"``, ``"L3H5,..."``); writes CSVs,
    figures and report.html into ``out``."""
    m = model if isinstance(model, Model) else load(model)
    if not isinstance(domains, Mapping) or not domains:
        raise ValueError("domains must be a non-empty dict NAME -> CORPUS.jsonl")
    specs = [f"{k}={v}" for k, v in domains.items()]
    summary = json.loads(_core.scan(m._m, specs, str(out), int(docs), int(ctx), ablate, attribution, bos,
                                    float(threshold), progress, force))
    return ScanResult(str(out), summary)


def set_threads(n: int) -> None:
    """Compute threads for LibTorch (what ``--threads`` sets in the CLI)."""
    _core.set_threads(int(n))


from . import bb  # noqa: E402  (uses _out)

__all__ = ["__version__", "LIBTORCH_VERSION", "TENSOR_TYPE", "bb", "Hook", "Model", "Run", "ScanResult", "analyze",
           "load", "reproduce", "scan", "set_threads", "train"]
