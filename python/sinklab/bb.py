"""The Bigram-Backcopy family of tasks (``sinklab data``): sequences, roles and the
oracle, from the same generator the trainer reads."""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence

from . import _core, _out


class Task:
    """A BB task: ``Task(source="shakespeare", task="bb", seq_len=256, n_bos=1,
    n_triggers=3)``. Sources as in the CLI: ``shakespeare`` (the paper's Tiny
    Shakespeare character bigrams, built in), ``synthetic[:V[:SEED]]``,
    ``counts:FILE.json``, ``text:FILE``. Tasks: ``bb``, ``markov``, ``bb-mix``, ``bietti``.
    ValueError with the CLI's message for a bad value."""

    def __init__(self, source: str = "shakespeare", task: str = "bb", seq_len: int = 256, n_bos: int = 1,
                 n_triggers: int = 3, triggers: Optional[Sequence[str]] = None, mix_p: float = 0.5):
        import json

        for name, v, kind in (("source", source, str), ("task", task, str), ("seq_len", seq_len, int),
                              ("n_bos", n_bos, int), ("n_triggers", n_triggers, int)):
            if not isinstance(v, kind) or isinstance(v, bool):
                raise TypeError(f"{name} must be {kind.__name__}, got {type(v).__name__}")
        sets = [f"data.source={source}", f"data.task={task}", f"data.seq_len={seq_len}", f"data.n_bos={n_bos}",
                f"data.triggers_top={n_triggers}", f"data.mix_p={float(mix_p)}"]
        if triggers is not None:
            sets.append("data.triggers=" + json.dumps(list(triggers)))
        self._t = _core.make_task(sets)
        self.source, self.task = source, task

    def __repr__(self) -> str:
        return f"sinklab.bb.Task(source={self.source!r}, task={self.task!r}, seq_len={self.seq_len})"

    @property
    def vocab_size(self) -> int:
        """Model vocabulary: the source's tokens and the BOS tokens."""
        return self._t.vocab_size

    @property
    def seq_len(self) -> int:
        """T: a row has T + 1 tokens."""
        return self._t.seq_len

    @property
    def triggers(self) -> List[str]:
        """The trigger tokens, as text."""
        return [self._t.token_string(i) for i in self._t.triggers]

    @property
    def bos_id(self) -> int:
        """The id of the (first) BOS token."""
        return self._t.bos_id(0)

    def token_string(self, token_id: int) -> str:
        """A token id as printable text (``<bos>`` for BOS)."""
        return self._t.token_string(int(token_id))

    def batch(self, seed: int, n: int, index: int = 0) -> Dict[str, Any]:
        """Batch ``index`` of ``n`` rows for ``seed`` (what the trainer reads at that step):
        ``tokens`` [n, T+1] int64; per query position [n, T]: ``is_trigger`` (role: the
        active positions), ``is_copy`` (the next token was copied), ``oracle_nll`` and
        ``oracle_entropy`` (the Bayes-optimal predictor's loss and entropy)."""
        if n < 1:
            raise ValueError(f"n = {n} must be >= 1")
        return {k: _out(v) for k, v in self._t.batch(int(seed), int(n), int(index)).items()}

    def oracle_loss(self, seed: int = 0, n_seqs: int = 2000) -> Dict[str, float]:
        """The oracle's loss (nats/token) overall, at trigger and at non-trigger positions,
        with its standard error and the trigger fraction, over ``n_seqs`` sequences."""
        return dict(self._t.oracle_stats(int(seed), int(n_seqs)))
