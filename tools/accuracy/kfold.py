#!/usr/bin/env python3
"""Song-level K-fold accuracy of the seed's models on a real GTZAN-style folder: Keras 3 against timbre.

For each model and seed, on the same patches and the same folds:
  keras          Keras 3 with the seed's model and optimizer, an input Normalization per mel band adapted
                 on the training fold (as timbre's trainers do: on raw dB the seed's SGD recipes barely
                 learn), categorical cross-entropy, batch 128, shuffled;
  timbre-seed    the trainer with --recipe seed (the same recipe, nothing added);
  timbre         the trainer with its default recipe (--recipe timbre);
  and any --variant NAME="flags" (an ablation: e.g. no-mixup="--mixup 0").
Each model is scored after its last epoch (no epoch picked on the validation fold): patch accuracy, and
song accuracy from each song's mean patch probabilities. Prints mean +- std over folds (and seeds) and
writes OUT/results.json and OUT/table.md.

The patches and folds come from the trainer itself (--export-patches), so Keras sees exactly what timbre
trains on; the folds are stratified by genre and seeded.

  python3 tools/accuracy/kfold.py --data /work/data/gtzan --build build --models cnn_bilstm \\
      --folds 5 --seeds 1 --epochs 50 --out /tmp/accuracy [--python PY] [--skip keras]

--python must have keras, tensorflow-cpu and numpy (default: tools/compare/.venv, made with pip if missing).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
SEED_OPTIMIZERS = {"parallel_cnn": ("sgd", 0.01), "cnn_lstm": ("sgd", 0.01), "cnn_bilstm": ("adam", 1e-3)}

KERAS_FOLD = r'''
import json, os, sys, time
import numpy as np
sys.path.insert(0, os.environ["TIMBRE_REFERENCE"])
import keras
import keras_seed_models

args = json.loads(sys.argv[1])
keras.utils.set_random_seed(args["seed"])
z = np.load(args["patches"])
x, labels, songs, song_fold = z["patches"], z["labels"], z["songs"], z["song_fold"]
classes = int(labels.max()) + 1
val = song_fold[songs] == args["fold"]
xt, yt, xv, yv = x[~val], labels[~val], x[val], labels[val]
norm = keras.layers.Normalization(axis=1)  # one mean and variance per mel band
norm.adapt(xt)
inner = getattr(keras_seed_models, args["model"])(classes)
model = keras.Sequential([keras.Input((80, 80, 1)), norm, inner])
if args["optimizer"] == "sgd":
    optimizer = keras.optimizers.SGD(learning_rate=args["lr"], momentum=0.9)
else:
    optimizer = keras.optimizers.Adam(learning_rate=args["lr"])
model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
start = time.time()
history = model.fit(xt, yt, batch_size=128, epochs=args["epochs"], shuffle=True, verbose=0,
                    validation_data=(xv, yv))
p = model.predict(xv, batch_size=256, verbose=0)
patch_accuracy = float(np.mean(p.argmax(1) == yv))
vsongs = songs[val]
right = [p[vsongs == s].mean(0).argmax() == yv[vsongs == s][0] for s in np.unique(vsongs)]
print(json.dumps({"patch_accuracy": patch_accuracy, "song_accuracy": float(np.mean(right)),
                  "songs": len(right), "patches": int(val.sum()), "seconds": time.time() - start,
                  "train_accuracy": float(history.history["accuracy"][-1]),
                  "val_accuracy_by_epoch": [float(v) for v in history.history["val_accuracy"]]}))
'''


def python_with_keras(requested):
    if requested:
        return requested
    venv = ROOT / "tools" / "compare" / ".venv"
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.check_call([sys.executable, "-m", "venv", str(venv)])
        subprocess.check_call([str(python), "-m", "pip", "install", "-q", "tensorflow-cpu", "keras", "numpy"])
    return str(python)


def run(cmd, env=None):
    print("+", " ".join(cmd), flush=True)
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"kfold.py: {cmd[0]} failed (exit {done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}")
    return done.stdout


def timbre_folds(trainer, args, seed, flags, out):
    run([trainer, "--data", args.data, "--folds", str(args.folds), "--seed", str(seed), "--epochs",
         str(args.epochs), "--threads", str(args.threads), "--progress", "quiet", "--overwrite", "--out", str(out)] + flags)
    folds = json.loads((out / "folds.json").read_text())["folds"]
    train_acc = []
    for k in range(args.folds):
        history = json.loads((out / f"fold-{k + 1}" / "history.json").read_text())
        train_acc.append(history["accuracy"][-1])
    return [dict(f, train_accuracy=a) for f, a in zip(folds, train_acc)]


def keras_folds(python, model, args, seed, patches):
    optimizer, lr = SEED_OPTIMIZERS[model]
    env = dict(os.environ, TIMBRE_REFERENCE=str(ROOT / "tools" / "reference"), OMP_NUM_THREADS=str(args.threads),
               TF_NUM_INTEROP_THREADS="1", TF_NUM_INTRAOP_THREADS=str(args.threads), TF_CPP_MIN_LOG_LEVEL="2",
               KERAS_BACKEND="tensorflow")
    folds = []
    for k in range(args.folds):
        spec = {"patches": str(patches), "fold": k, "model": model, "optimizer": optimizer, "lr": lr,
                "epochs": args.epochs, "seed": seed}
        folds.append(json.loads(run([python, "-c", KERAS_FOLD, json.dumps(spec)], env).strip().splitlines()[-1]))
    return folds


def summary(folds):
    out = {}
    for key in ("patch_accuracy", "song_accuracy", "train_accuracy"):
        values = [f[key] for f in folds]
        out[key] = {"mean": statistics.mean(values), "std": statistics.stdev(values) if len(values) > 1 else 0.0,
                    "values": values}
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, help="a GTZAN-style folder or list file")
    parser.add_argument("--build", default=str(ROOT / "build"))
    parser.add_argument("--models", nargs="+", default=["cnn_bilstm"], choices=sorted(SEED_OPTIMIZERS))
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1])
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--skip", nargs="*", default=[], choices=["keras", "timbre-seed", "timbre"])
    parser.add_argument("--variant", action="append", default=[],
                        help='NAME="timbre flags", another timbre row (an ablation); repeatable')
    parser.add_argument("--python", help="a Python with keras and tensorflow-cpu")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = [("timbre-seed", ["--recipe", "seed"]), ("timbre", [])]
    for v in args.variant:
        name, _, flags = v.partition("=")
        if not name or not flags:
            sys.exit(f'kfold.py: --variant expects NAME="flags", got {v!r}')
        rows.append((name, flags.split()))
    rows = [r for r in rows if r[0] not in args.skip]
    python = None if "keras" in args.skip else python_with_keras(args.python)

    results = []
    for model in args.models:
        trainer = str(Path(args.build) / "examples" / model)
        for seed in args.seeds:
            patches = out / f"patches-seed{seed}"
            run([trainer, "--data", args.data, "--folds", str(args.folds), "--seed", str(seed), "--export-patches",
                 str(patches)])
            if python:
                start = time.time()
                folds = keras_folds(python, model, args, seed, patches / "patches.npz")
                results.append({"model": model, "seed": seed, "recipe": "keras", "folds": folds,
                                "seconds": time.time() - start})
            for name, flags in rows:
                start = time.time()
                folds = timbre_folds(trainer, args, seed, flags, out / f"{model}-{name}-seed{seed}")
                results.append({"model": model, "seed": seed, "recipe": name, "flags": flags, "folds": folds,
                                "seconds": time.time() - start})
            (out / "results.json").write_text(json.dumps(results, indent=1) + "\n")

    lines = [f"| model | recipe | patch accuracy | song accuracy | train accuracy | min song fold | seconds |",
             "|---|---|---|---|---|---|---|"]
    for model in args.models:
        for recipe in ["keras"] + [r[0] for r in rows]:
            folds = [f for r in results if r["model"] == model and r["recipe"] == recipe for f in r["folds"]]
            if not folds:
                continue
            s = summary(folds)
            secs = sum(r["seconds"] for r in results if r["model"] == model and r["recipe"] == recipe)
            lines.append(f"| {model} | {recipe} | {s['patch_accuracy']['mean']:.3f} +- {s['patch_accuracy']['std']:.3f}"
                         f" | {s['song_accuracy']['mean']:.3f} +- {s['song_accuracy']['std']:.3f}"
                         f" | {s['train_accuracy']['mean']:.3f} | {min(s['song_accuracy']['values']):.3f}"
                         f" | {secs:.0f} |")
    table = "\n".join(lines)
    (out / "table.md").write_text(table + "\n")
    print(table)


if __name__ == "__main__":
    main()
