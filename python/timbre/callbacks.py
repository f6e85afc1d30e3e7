"""Training callbacks: Keras' EarlyStopping, ReduceLROnPlateau, LearningRateScheduler and TensorBoard run
inside timbre's loop; subclass Callback for your own (its hooks are called with the GIL held)."""

from ._timbre import (
    EarlyStopping,
    LearningRateScheduler,
    NativeCallback,
    ReduceLROnPlateau,
    TensorBoard,
    cosine_schedule,
    step_schedule,
)

__all__ = [
    "Callback", "EarlyStopping", "LearningRateScheduler", "NativeCallback", "ReduceLROnPlateau",
    "TensorBoard", "cosine_schedule", "step_schedule",
]


class Callback:
    """Keras' Callback: override any hook; epochs and batches count from 0, as in Keras. Set
    self.model.stop_training = True to end training after the current epoch."""

    def __init__(self):
        self.model = None

    def set_model(self, model):
        self.model = model

    def on_train_begin(self, logs=None):
        pass

    def on_epoch_begin(self, epoch, logs=None):
        pass

    def on_epoch_end(self, epoch, logs=None):
        pass

    def on_train_batch_end(self, batch, logs=None):
        pass

    def on_train_end(self, logs=None):
        pass
