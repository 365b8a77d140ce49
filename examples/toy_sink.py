"""A toy transformer on the Bigram-Backcopy task, and its attention sink emerging.

Trains the cpu-1l preset (one layer, one head), analyses every checkpoint and prints how
much of the head's attention goes to BOS at the non-trigger (dormant) positions against
the trigger (active) positions, step by step: the paper's active-dormant head.

    python examples/toy_sink.py [--steps 1500] [--out runs/toy-sink]
"""
import argparse

import sinklab

ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
ap.add_argument("--steps", type=int, default=1500)
ap.add_argument("--out", default="runs/toy-sink")
a = ap.parse_args()

run = sinklab.train("cpu-1l", steps=a.steps, out=a.out, force=True, progress=True)
heads = sinklab.analyze(run)
rows = heads if isinstance(heads, list) else heads.to_dict("records")
print(f"{'step':>6}  {'sink mass (non-trigger)':>24}  {'at triggers':>11}  {'value ratio':>11}")
for r in rows:
    if r["layer"] == 0 and r["head"] == 0:
        print(f"{int(r['step']):>6}  {r['bos_mass_nontrigger']:>24.3f}  {r['bos_mass_trigger']:>11.3f}  "
              f"{r['v_ratio']:>11.3f}")
first = next(r for r in rows if r["layer"] == 0)
last = [r for r in rows if r["layer"] == 0][-1]
print(f"sink mass at non-trigger queries: {first['bos_mass_nontrigger']:.3f} at step {int(first['step'])} -> "
      f"{last['bos_mass_nontrigger']:.3f} at step {int(last['step'])}")
