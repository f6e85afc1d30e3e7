// Softmax cross-entropy on logits (Keras' categorical_crossentropy after a
// softmax, computed stably), and accuracy.
#pragma once

#include "timbre/core/tensor.h"

namespace timbre::ops {

// logits (N, C); targets (N, C) one-hot or soft rows, or (N,) class indices.
// Returns the mean loss over the batch as a scalar tensor of shape ().
Tensor softmax_cross_entropy(const Tensor& logits, const Tensor& targets);

// (N, C) targets for `targets` given as (N, C) rows or (N,) class indices.
Tensor one_hot_targets(const Tensor& targets, int64_t classes, const char* op);

// Fraction of rows whose arg-max matches the target class (not differentiable).
double accuracy(const Tensor& logits, const Tensor& targets);

}  // namespace timbre::ops
