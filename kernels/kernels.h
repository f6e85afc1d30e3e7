// Every kernel of timbre, declared once. Each backend defines all of them in
// its own namespace with exactly these signatures: kernels::cpu in
// kernels/cpu/<op>.cpp, kernels::cuda in kernels/cuda/<op>.cu. This file has no
// include guard on purpose: kernels/dispatch.h includes it once per backend
// namespace. Ops call kernels through TIMBRE_DISPATCH, never a backend directly.
//
// Conventions (as in llm.c and dlib):
// - Pointers address contiguous device memory of the backend's device.
// - *_forward writes its outputs (they may hold garbage before).
// - *_backward ADDS into every gradient it is given (the caller zeroes); a
//   null gradient pointer means "not needed" and must be skipped.
// - T is float or double; both are instantiated in every backend.
// - kernels/ops.def lists every kernel here by family (the op table).

// ---------------------------------------------------------------- backend
// Whether this backend runs `op` for this geometry (kernels/ops.h): the CPU in
// kernels/cpu/supports.cpp, CUDA in kernels/cuda/supports.cu.
bool supports(Op op, const FusionGeometry& g);

// ---------------------------------------------------------------- memory
// y[i] = value
template <class T> void fill(int64_t n, T value, T* y);
// y[i] += alpha * x[i]
template <class T> void axpy(int64_t n, T alpha, const T* x, T* y);
// For r < rows: dst[r*dst_stride + c] (+)= src[r*src_stride + c], c < cols. Serves
// Concatenate forward (copy into a column block) and backward (add a block back).
template <class T> void copy_block(int64_t rows, int64_t cols, const T* src, int64_t src_stride, T* dst,
                                   int64_t dst_stride, bool accumulate);

// ---------------------------------------------------------------- GEMM
// C = alpha * op(A) * op(B) + beta * C; row-major, op(A) is m x k, op(B) is k x n.
template <class T> void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha, const T* a,
                             int64_t lda, const T* b, int64_t ldb, T beta, T* c, int64_t ldc);

// ---------------------------------------------------------------- dense
// y (rows, out) = x (rows, in) . w (in, out) + b (out)
template <class T> void dense_forward(int64_t rows, int64_t in, int64_t out, const T* x, const T* w, const T* b,
                                      T* y);
template <class T> void dense_backward(int64_t rows, int64_t in, int64_t out, const T* x, const T* w, const T* gy,
                                       T* gx, T* gw, T* gb);

// ---------------------------------------------------------------- conv2d
// x (N, H, W, Cin), w (KH, KW, Cin, Cout) as Keras stores it, b (Cout), y (N, OH, OW, Cout).
template <class T> void conv2d_forward(const Conv2dGeometry& g, const T* x, const T* w, const T* b, T* y);
template <class T> void conv2d_backward(const Conv2dGeometry& g, const T* x, const T* w, const T* gy, T* gx, T* gw,
                                        T* gb);

// ---------------------------------------------------------------- conv2d_pool
// Conv2D (stride 1), LeakyReLU and max pooling (stride = pool) as one kernel:
// y (N, PH, PW, Cout) = maxpool(leaky_relu(conv2d(x, w) + b, negative_slope)), where
// negative_slope >= 0 (1: no activation). The convolution's outputs never go through
// memory, and those outside every window are not computed. argmax, written
// when not null, is as maxpool2d_forward's, of the window's pre-activations
// (the same position: the activation is monotone).
template <class T> void conv2d_pool_forward(const ConvPoolGeometry& g, T negative_slope, const T* x, const T* w,
                                            const T* b, T* y, T* argmax);
// The convolution's output gradient is gy times the activation's slope at y
// (1 where y > 0, else negative_slope) at each window's argmax, and zero elsewhere.
template <class T> void conv2d_pool_backward(const ConvPoolGeometry& g, T negative_slope, const T* x, const T* w,
                                             const T* y, const T* argmax, const T* gy, T* gx, T* gw, T* gb);

// ---------------------------------------------------------------- maxpool2d
// argmax (N, OH, OW, C), written when not null: the window position ph * pool_w + pw
// of the first maximum (row-major), stored as T (exact: pools are small). The
// gradient goes to that position; backward needs no second pass over x.
template <class T> void maxpool2d_forward(const Pool2dGeometry& g, const T* x, T* y, T* argmax);
template <class T> void maxpool2d_backward(const Pool2dGeometry& g, const T* argmax, const T* gy, T* gx);

// ---------------------------------------------------------------- batchnorm
// Training: normalise with the batch mean and biased variance; write them as
// mean and inv_std = 1/sqrt(var + eps) for backward, and update the moving
// statistics: moving = moving * momentum + batch * (1 - momentum).
template <class T> void batchnorm_forward_train(const BatchNormGeometry& g, T eps, T momentum, const T* x,
                                                const T* gamma, const T* beta, T* y, T* mean, T* inv_std,
                                                T* moving_mean, T* moving_var);
template <class T> void batchnorm_backward_train(const BatchNormGeometry& g, const T* x, const T* gamma,
                                                 const T* mean, const T* inv_std, const T* gy, T* gx, T* ggamma,
                                                 T* gbeta);
// Training-mode batch norm, LeakyReLU and max pooling as one kernel, over x
// (N, H, W, C) with g.stride == g.pool: the batch statistics as
// batchnorm_forward_train (mean and inv_std written, moving statistics
// updated), then y (N, PH, PW, C) = maxpool(leaky_relu(gamma * (x - mean) *
// inv_std + beta, negative_slope)) with argmax as maxpool2d_forward's (written when not
// null). The normalised activations never go through memory.
template <class T> void batchnorm_pool_forward_train(const Pool2dGeometry& g, T eps, T momentum, T negative_slope,
                                                     const T* x, const T* gamma, const T* beta, T* y, T* argmax,
                                                     T* mean, T* inv_std, T* moving_mean, T* moving_var);
// The normalised activations' gradient is gy * (y > 0 ? 1 : negative_slope) at each
// window's argmax and zero elsewhere: gamma's and beta's gradients sum over the
// pooled outputs only; gx is batch norm's input gradient of that.
template <class T> void batchnorm_pool_backward_train(const Pool2dGeometry& g, T negative_slope, const T* x,
                                                      const T* gamma, const T* mean, const T* inv_std, const T* y,
                                                      const T* argmax, const T* gy, T* gx, T* ggamma, T* gbeta);
// Inference: normalise with the moving statistics.
template <class T> void batchnorm_forward_infer(const BatchNormGeometry& g, T eps, const T* x, const T* gamma,
                                                const T* beta, const T* moving_mean, const T* moving_var, T* y);
template <class T> void batchnorm_backward_infer(const BatchNormGeometry& g, T eps, const T* x, const T* gamma,
                                                 const T* moving_mean, const T* moving_var, const T* gy, T* gx,
                                                 T* ggamma, T* gbeta);

// ---------------------------------------------------------------- sync_batchnorm
// Training batch norm whose batch spans several processes
// (dist::SyncBatchNormalization), split where the processes add up their
// channel sums (sums are 2C values; the caller all-reduces them in between):
// - moments: sums[c] = sum of (x - center[c]), sums[C + c] = sum of its
//   squares, over this process's rows (center null: zero);
// - statistics: from such sums over `count` rows in all, mean = center +
//   sums[c] / count and var = sums[C + c] / count - (sums[c] / count)^2
//   written as mean, inv_std = 1/sqrt(var + eps) and the moving statistics'
//   update, as batchnorm_forward_train (inv_std and moving ones when not null).
//   Two passes, the second centred on the first's mean, keep float accurate
//   for data far from zero;
// - apply: y = (x - mean) * inv_std * gamma + beta;
// - gradient_sums: sums = [sum gy, sum gy * xhat] over this process's rows,
//   also added into gbeta and ggamma (this process's share);
// - backward: gx += batch norm's input gradient from such sums over `count` rows.
template <class T> void sync_batchnorm_moments(const BatchNormGeometry& g, const T* x, const T* center, T* sums);
template <class T> void sync_batchnorm_statistics(int64_t channels, int64_t count, T eps, T momentum,
                                                  const T* center, const T* sums, T* mean, T* inv_std,
                                                  T* moving_mean, T* moving_var);
template <class T> void sync_batchnorm_apply(const BatchNormGeometry& g, const T* x, const T* gamma, const T* beta,
                                             const T* mean, const T* inv_std, T* y);
template <class T> void sync_batchnorm_gradient_sums(const BatchNormGeometry& g, const T* x, const T* mean,
                                                     const T* inv_std, const T* gy, T* sums, T* ggamma, T* gbeta);
template <class T> void sync_batchnorm_backward(const BatchNormGeometry& g, int64_t count, const T* x,
                                                const T* gamma, const T* mean, const T* inv_std, const T* sums,
                                                const T* gy, T* gx);

// ---------------------------------------------------------------- activations
// LeakyReLU: y = x > 0 ? x : negative_slope * x (negative_slope 0 is ReLU).
template <class T> void leaky_relu_forward(int64_t n, T negative_slope, const T* x, T* y);
template <class T> void leaky_relu_backward(int64_t n, T negative_slope, const T* x, const T* gy, T* gx);
// Sigmoid and tanh differentiate through their output y.
template <class T> void sigmoid_forward(int64_t n, const T* x, T* y);
template <class T> void sigmoid_backward(int64_t n, const T* y, const T* gy, T* gx);
template <class T> void tanh_forward(int64_t n, const T* x, T* y);
template <class T> void tanh_backward(int64_t n, const T* y, const T* gy, T* gx);
// Softmax over the last axis of a (rows, cols) matrix.
template <class T> void softmax_forward(int64_t rows, int64_t cols, const T* x, T* y);
template <class T> void softmax_backward(int64_t rows, int64_t cols, const T* y, const T* gy, T* gx);

// ---------------------------------------------------------------- dropout
// Inverted dropout: element i is kept when dropout_keeps(seed, i, rate) and then
// scaled by 1/(1-rate). The mask is a hash of (seed, i), so backward recomputes it
// and every backend draws the same mask.
template <class T> void dropout_forward(int64_t n, T rate, uint64_t seed, const T* x, T* y);
template <class T> void dropout_backward(int64_t n, T rate, uint64_t seed, const T* gy, T* gx);

// ---------------------------------------------------------------- loss
// Softmax cross-entropy from logits against target distributions (one-hot rows):
// probs = softmax(logits); loss[r] = -sum_c targets[r,c] * log(probs[r,c]).
template <class T> void softmax_cross_entropy_forward(int64_t rows, int64_t classes, const T* logits,
                                                      const T* targets, T* probs, T* loss);
// glogits += scale * (probs * sum(targets) - targets), scale being d total / d loss[r]
// (the same for every row: the loss is a mean).
template <class T> void softmax_cross_entropy_backward(int64_t rows, int64_t classes, const T* probs,
                                                       const T* targets, T scale, T* glogits);

// ---------------------------------------------------------------- normalization
// Keras' Normalization: y = (x - mean[s]) / max(sqrt(variance[s]), eps) where the
// statistic of element i is s = (i / inner) % groups (groups 1: one global pair).
template <class T> void normalize_forward(int64_t n, int64_t inner, int64_t groups, T eps, const T* x, const T* mean,
                                          const T* variance, T* y);
template <class T> void normalize_backward(int64_t n, int64_t inner, int64_t groups, T eps, const T* variance,
                                           const T* gy, T* gx);

// ---------------------------------------------------------------- optimizers (Keras' rules)
// SGD: v = momentum*v - lr*g; w += v (nesterov: w += momentum*v - lr*g). momentum 0 needs no v.
template <class T> void sgd_update(int64_t n, T lr, T momentum, bool nesterov, const T* g, T* w, T* velocity);
// Adam with bias correction at step t (1-based), Keras' epsilon placement:
// m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2; w -= lr_t * m / (sqrt(v) + eps),
// lr_t = lr * sqrt(1-b2^t) / (1-b1^t).
template <class T> void adam_update(int64_t n, T lr, T beta1, T beta2, T eps, int64_t step, const T* g, T* w, T* m,
                                    T* v);
// Keras' global_clipnorm (PyTorch's clip_grad_norm_): g *= max_norm / max(||g||, max_norm), the norm summed
// in double in a fixed order, so the same gradients give the same result on every run.
template <class T> void clip_by_global_norm(int64_t n, T max_norm, T* g);

// ---------------------------------------------------------------- lstm
// Keras' LSTM: kernel (features, 4u), recurrent_kernel (u, 4u), bias (4u), gates
// in the order i, f, c, o; z = x_t.kernel + h.recurrent_kernel + bias,
// c' = sigmoid(z_f)*c + sigmoid(z_i)*tanh(z_c), h' = sigmoid(z_o)*tanh(c'),
// zero initial states. x (batch, steps, features); y as LstmGeometry says.
// `saved` holds lstm_layout(g).saved_size values: forward writes it, backward
// reads it (never after a forward with g.keep_for_backward false); `scratch`
// holds lstm_layout(g).scratch_size values for backward.
template <class T> void lstm_forward(const LstmGeometry& g, const T* x, const T* kernel, const T* recurrent_kernel,
                                     const T* bias, T* y, T* saved);
template <class T> void lstm_backward(const LstmGeometry& g, const T* x, const T* kernel, const T* recurrent_kernel,
                                      const T* saved, const T* gy, T* scratch, T* gx, T* gkernel,
                                      T* grecurrent_kernel, T* gbias);
// Reverses the step axis: y[n, steps-1-t, :] = x[n, t, :] (added into y when
// accumulate), x and y (batch, steps, width). Its own backward (with accumulate).
template <class T> void reverse_steps(int64_t batch, int64_t steps, int64_t width, const T* x, T* y,
                                      bool accumulate);
