"""Classifier speed of an older checkout vs this tree, interleaved in one run (A B B A ...).

    git archive 582c0db | tar -x -C /tmp/old   # the "before" tree
    flock /tmp/perflab-bench.lock python deploy/bench/classifier_before_after.py /tmp/old

Each measurement is a fresh subprocess classifying the realistic tune + held-out sets
(REGEX_PRECOMPILE=1, spelling memo warmed), best of 5 passes; 4 rounds, medians printed.
"""
import json
import statistics
import subprocess
import sys

CHILD = r'''
import sys, time, json
sys.path.insert(0, sys.argv[1])
from engine.config import EngineConfig
from engine.datagen import DataSpec, catalogue
from engine.nlu import NLU
from engine.evaluate import load_labelled
from pathlib import Path
texts = [t for f in sys.argv[2:] for t, _ in load_labelled(Path(f))]
cfg = EngineConfig(regex_precompile=True)
nlu = NLU(cfg, catalogue(DataSpec.from_config(cfg)))
for t in texts: nlu.classify(t)  # warm the spelling memo
best = []
for rep in range(5):
    t0 = time.perf_counter()
    for t in texts: nlu.classify(t)
    best.append((time.perf_counter() - t0) / len(texts) * 1e6)
print(json.dumps({"us_per_msg": min(best), "n": len(texts)}))
'''
ROOT = __import__("pathlib").Path(__file__).resolve().parents[2]
trees = {"before": sys.argv[1], "after": str(ROOT)}
data = [str(ROOT / "tests" / "data" / n)
        for n in ("realistic_tune.jsonl", "realistic_heldout.jsonl")]
res = {k: [] for k in trees}
for rnd in range(4):  # interleaved: A B A B ...
    order = list(trees.items())
    for name, tree in (order if rnd % 2 == 0 else order[::-1]):
        out = subprocess.run([sys.executable, "-c", CHILD, tree, *data], capture_output=True,
                             text=True, check=True, cwd="/tmp")
        res[name].append(json.loads(out.stdout)["us_per_msg"])
for name, v in res.items():
    runs = ", ".join("%.1f" % x for x in v)
    print("%-18s median %.1f us/message (runs: %s)" % (name, statistics.median(v), runs))
b, a = statistics.median(res["before"]), statistics.median(res["after"])
print("after/before time ratio: %.3f  (classifications/s before %.0f, after %.0f)"
      % (a / b, 1e6 / b, 1e6 / a))
