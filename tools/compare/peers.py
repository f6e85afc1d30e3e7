#!/usr/bin/env python3
"""Times one seed model in PyTorch or Keras 3 (tensorflow backend) on random data, batch 128:
training steps (forward, loss, backward, the seed's optimizer) and inference passes, samples/s.
One framework and model per process (run by compare.py and scripts/device/check.sh). Prints one JSON line.

  python peers.py --framework torch|keras --model parallel_cnn|cnn_lstm|cnn_bilstm --threads N
                  [--device cpu|cuda] [--tf32 on|off]

--device cuda (PyTorch only) times on the GPU with cudnn.benchmark on, waiting for the GPU before
and after each timed run; --tf32 on lets its matrix products and convolutions use TF32 (default off:
float32 throughout, as timbre's kernels).
"""
import argparse
import json
import os
import statistics
import time

BATCH = 128


def time_steps(step, warmup, steps, repeats, sync):
    """sync() waits for queued GPU work, so each timed run holds exactly its own steps."""
    for _ in range(warmup):
        step()
    rates = []
    for _ in range(repeats):
        sync()
        start = time.perf_counter()
        for _ in range(steps):
            step()
        sync()
        rates.append(BATCH * steps / (time.perf_counter() - start))
    return statistics.median(rates), rates


def torch_model(name, device):
    import torch
    from torch import nn

    class ParallelCnn(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Sequential(nn.Conv2d(1, 3, 8), nn.LeakyReLU(0.3), nn.MaxPool2d(4), nn.Flatten())
            self.b = nn.Sequential(nn.Conv2d(1, 4, 4), nn.LeakyReLU(0.3), nn.MaxPool2d(2), nn.Flatten())
            self.head = nn.Linear(18 * 18 * 3 + 38 * 38 * 4, 8)

        def forward(self, x):
            return self.head(torch.cat([self.a(x), self.b(x)], 1))

    class Recurrent(nn.Module):
        """P1.2 (bidirectional=False) and P2 (True): convolutions, two LSTMs, Dense 200, Dropout, Dense 8."""

        def __init__(self, bidirectional):
            super().__init__()
            self.bidirectional = bidirectional
            if bidirectional:
                self.conv = nn.Sequential(
                    nn.Conv2d(1, 8, 4, padding="same"), nn.BatchNorm2d(8, eps=1e-3, momentum=0.01), nn.LeakyReLU(0.3),
                    nn.MaxPool2d(2), nn.Conv2d(8, 6, 3, padding="same"), nn.BatchNorm2d(6, eps=1e-3, momentum=0.01),
                    nn.LeakyReLU(0.3), nn.MaxPool2d(2))
                self.steps, features, dropout = 100, 24, 0.3
            else:
                self.conv = nn.Sequential(nn.Conv2d(1, 8, 4), nn.MaxPool2d(2), nn.Conv2d(8, 6, 3), nn.MaxPool2d(2))
                self.steps, features, dropout = 324, 6, 0.2
            width = 2 if bidirectional else 1
            self.lstm1 = nn.LSTM(features, 128, batch_first=True, bidirectional=bidirectional)
            self.lstm2 = nn.LSTM(128 * width, 32, batch_first=True, bidirectional=bidirectional)
            self.head = nn.Sequential(nn.Linear(32 * width, 200), nn.ReLU(), nn.Dropout(dropout), nn.Linear(200, 8))

        def forward(self, x):
            h = self.conv(x).permute(0, 2, 3, 1).reshape(x.shape[0], self.steps, -1)  # Keras' channels-last order
            h, _ = self.lstm1(h)
            h, _ = self.lstm2(h)
            last = torch.cat([h[:, -1, :32], h[:, 0, 32:]], 1) if self.bidirectional else h[:, -1]
            return self.head(last)

    model = {"parallel_cnn": ParallelCnn, "cnn_lstm": lambda: Recurrent(False), "cnn_bilstm": lambda: Recurrent(True)}[name]()
    model.to(device)
    optimizer = (torch.optim.Adam(model.parameters(), 1e-3, eps=1e-7) if name == "cnn_bilstm"
                 else torch.optim.SGD(model.parameters(), 0.01, momentum=0.9))
    x = (torch.rand(BATCH, 1, 80, 80) * -80).to(device)
    y = (torch.arange(BATCH) % 8).to(device)
    loss_fn = nn.CrossEntropyLoss()

    def train():
        model.train()
        optimizer.zero_grad()
        loss_fn(model(x), y).backward()
        optimizer.step()

    def infer():
        model.eval()
        with torch.no_grad():
            model(x)

    return train, infer, torch.__version__


def keras_model(name):
    import keras
    from keras import layers
    import numpy as np
    import tensorflow as tf

    inp = keras.Input((80, 80, 1))
    if name == "parallel_cnn":
        a = layers.Flatten()(layers.MaxPooling2D(4)(layers.LeakyReLU(0.3)(layers.Conv2D(3, 8)(inp))))
        b = layers.Flatten()(layers.MaxPooling2D(2)(layers.LeakyReLU(0.3)(layers.Conv2D(4, 4)(inp))))
        out = layers.Dense(8, activation="softmax")(layers.Concatenate()([a, b]))
    elif name == "cnn_lstm":
        h = layers.MaxPooling2D(2)(layers.Conv2D(8, 4)(inp))
        h = layers.Reshape((324, 6))(layers.MaxPooling2D(2)(layers.Conv2D(6, 3)(h)))
        h = layers.LSTM(32)(layers.LSTM(128, return_sequences=True)(h))
        out = layers.Dense(8, activation="softmax")(layers.Dropout(0.2)(layers.Dense(200, activation="relu")(h)))
    else:
        h = inp
        for filters, k in ((8, 4), (6, 3)):
            h = layers.Conv2D(filters, k, padding="same")(h)
            h = layers.MaxPooling2D(2)(layers.LeakyReLU(0.3)(layers.BatchNormalization()(h)))
        h = layers.Reshape((100, 24))(h)
        h = layers.Bidirectional(layers.LSTM(128, return_sequences=True))(h)
        h = layers.Bidirectional(layers.LSTM(32))(h)
        out = layers.Dense(8, activation="softmax")(layers.Dropout(0.3)(layers.Dense(200, activation="relu")(h)))
    model = keras.Model(inp, out)
    optimizer = keras.optimizers.Adam(1e-3) if name == "cnn_bilstm" else keras.optimizers.SGD(0.01, momentum=0.9)
    model.compile(optimizer=optimizer, loss="categorical_crossentropy")
    x = (np.random.rand(BATCH, 80, 80, 1) * -80).astype("float32")
    y = keras.utils.to_categorical(np.arange(BATCH) % 8, 8).astype("float32")
    return (lambda: model.train_on_batch(x, y)), (lambda: model.predict_on_batch(x)), \
        f"keras {keras.__version__} / tf {tf.__version__}"


def no_wait():
    """The CPU frameworks return when the work is done."""


def use_cuda(torch, tf32, parser):
    """Sets up PyTorch on the GPU; returns the function that waits for it."""
    if not torch.cuda.is_available():
        parser.error(f"--device cuda: PyTorch {torch.__version__} sees no usable GPU")
    torch.backends.cudnn.benchmark = True  # the fastest algorithm per shape, picked in the warm-up steps
    torch.backends.cuda.matmul.allow_tf32 = tf32
    torch.backends.cudnn.allow_tf32 = tf32
    return torch.cuda.synchronize


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--framework", choices=["torch", "keras"], required=True)
    parser.add_argument("--model", choices=["parallel_cnn", "cnn_lstm", "cnn_bilstm"], required=True)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--tf32", choices=["on", "off"], default="off", help="TF32 math on the GPU (--device cuda)")
    args = parser.parse_args()
    if args.device == "cuda" and args.framework != "torch":
        parser.error("--device cuda: only with --framework torch")
    if args.tf32 == "on" and args.device != "cuda":
        parser.error("--tf32 on: only with --device cuda")
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    sync = no_wait
    if args.framework == "torch":
        import torch
        torch.set_num_threads(args.threads)
        torch.manual_seed(0)
        if args.device == "cuda":
            sync = use_cuda(torch, args.tf32 == "on", parser)
        train, infer, version = torch_model(args.model, args.device)
    else:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        import tensorflow as tf
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)
        tf.random.set_seed(0)
        train, infer, version = keras_model(args.model)
    train_rate, train_all = time_steps(train, 3, args.steps, args.repeats, sync)
    infer_rate, infer_all = time_steps(infer, 3, args.steps, args.repeats, sync)
    print(json.dumps({"framework": args.framework, "version": version, "model": args.model, "threads": args.threads,
                      "device": args.device, "tf32": args.tf32,
                      "train_samples_per_s": train_rate, "infer_samples_per_s": infer_rate,
                      "train_repeats": train_all, "infer_repeats": infer_all}))


if __name__ == "__main__":
    main()
