// Dispatch of the weight reads and the parameter updates (QZO, MeZO, AdamW).
#include "kernels/dispatch/dispatch.h"
#include "kernels/ops.h"

namespace qzo::ops {

const float* materialize_f32(Backend& be, Workspace& ws, const WeightOperand& w) {
  QZO_DISPATCH(be, (ws, w), materialize_f32, ws, w);
}

void linear_forward(Backend& be, Workspace& ws, float* out, const float* inp, const WeightOperand& w,
                    const float* bias, int M, int K, int N) {
  QZO_DISPATCH(be, (ws, out, inp, w, bias, M, K, N), linear_forward, ws, out, inp, w, bias, M, K, N);
}

void dequantize(Backend& be, float* W_out, const QuantizedWeightView& w, const ZoPerturbation* perturbation) {
  QZO_DISPATCH(be, (W_out, w, perturbation), dequantize, W_out, w, perturbation);
}

void dense_read(Backend& be, float* out, const DenseWeightView& w, const ZoPerturbation* perturbation) {
  QZO_DISPATCH(be, (out, w, perturbation), dense_read, out, w, perturbation);
}

void philox_normal_fill(Backend& be, float* out, uint64_t seed, uint32_t stream, uint64_t first_index, int64_t n) {
  QZO_DISPATCH(be, (out, seed, stream, first_index, n), philox_normal_fill, out, seed, stream, first_index, n);
}

void scale_update(Backend& be, float* scales, int64_t n, uint64_t seed, uint32_t stream, float step, float floor) {
  QZO_DISPATCH(be, (scales, n, seed, stream, step, floor), scale_update, scales, n, seed, stream, step, floor);
}

void scale_update_log(Backend& be, float* scales, int64_t n, uint64_t seed, uint32_t stream, float step) {
  QZO_DISPATCH(be, (scales, n, seed, stream, step), scale_update_log, scales, n, seed, stream, step);
}

void zo_axpy(Backend& be, float* w, int64_t n, uint64_t seed, uint32_t stream, float keep, float step) {
  QZO_DISPATCH(be, (w, n, seed, stream, keep, step), zo_axpy, w, n, seed, stream, keep, step);
}

void adamw_update(Backend& be, float* w, const float* g, float* m, float* v, int64_t n, const AdamWStep& s) {
  QZO_DISPATCH(be, (w, g, m, v, n, s.lr, s.beta1, s.beta2, s.eps, s.weight_decay, s.bias_correction1,
                    s.bias_correction2),
               adamw_update, w, g, m, v, n, s);
}

}  // namespace qzo::ops
