"""A notebook's session with timbre: train the seed's P2 (CNN-BiLSTM) for 2 epochs on the built-in
synthetic genres, predict, save, reload. docs/python.md walks through it; python/tests runs it.

    python python/examples/notebook.py [output folder]
"""
import sys
from pathlib import Path

import numpy as np

import timbre

out = Path(sys.argv[1] if len(sys.argv) > 1 else ".")

# 8 synthetic genres rendered as audio and cut into 80x80 log-mel patches (15 per song), split by song.
songs = timbre.data.synthetic(songs_per_genre=10)
train, validation = songs.split(kind="song", validation_fraction=0.2, seed=42)
print(train, validation, sep="\n")

timbre.manual_seed(42)  # initialisers and dropout
model = timbre.models.cnn_bilstm(classes=train.num_classes)  # Adam 1e-3, the seed's recipe
model.to("auto")  # a GPU when one is usable, else the CPU
model.summary()

history = model.fit(train, validation_data=validation, epochs=2, batch_size=128)
print({key: [round(v, 4) for v in values] for key, values in history.history.items()})

probabilities = model.predict(validation.x)  # (N, 8) softmax probabilities, a NumPy array
predicted = probabilities.argmax(axis=1)
print("validation accuracy", np.mean(predicted == validation.y))

path = out / "p2.safetensors"
model.save(path)
reloaded = timbre.load_model(path, device=model.device)
assert np.array_equal(reloaded.predict(validation.x), probabilities)
print("saved and reloaded", path, "- predictions identical")
