// Hessian collection at linear inputs (the calibration windows come from
// calibration_text.cpp, which needs the tokenizer and the datasets).
#include "framework/quant/calibration.h"

#include <algorithm>
#include <map>

#include "framework/core/error.h"
#include "kernels/ops.h"

namespace qzo {

namespace {

// Reads the model's stored weights (or any base source) and adds each observed layer's
// 2·XᵀX to its Hessian; normalized by the row count at the end.
class HessianCollector final : public WeightSource {
 public:
  HessianCollector(const Model& model, const WeightSource& base, const std::vector<int>& ids)
      : model_(model), base_(base) {
    for (int id : ids) {
      const int64_t K = model.parameters()[id].shape[1];
      sums_.emplace(id, Sum{std::vector<double>(size_t(K * K), 0.0), 0});
    }
  }
  WeightOperand operand(int id) const override { return base_.operand(id); }
  void observe_input(int id, const float* inp, int M, int K) const override {
    auto it = sums_.find(id);
    if (it == sums_.end()) return;
    // XᵀX in fp32 by the backend's matmul over Xᵀ (K × M), then summed in double.
    std::vector<float> x = download_vector(model_.backend(), inp, size_t(M) * K), xt(x.size()), xtx(size_t(K) * K);
    for (int m = 0; m < M; ++m)
      for (int k = 0; k < K; ++k) xt[size_t(k) * M + m] = x[size_t(m) * K + k];
    ops::matmul_forward(cpu_backend(), xtx.data(), xt.data(), xt.data(), nullptr, K, M, K);
    for (size_t i = 0; i < xtx.size(); ++i) it->second.hessian[i] += 2.0 * double(xtx[i]);
    it->second.rows += M;
  }
  LayerCalibration take(int id) {
    Sum& s = sums_.at(id);
    for (double& h : s.hessian) h /= double(std::max<int64_t>(s.rows, 1));
    return LayerCalibration{std::move(s.hessian)};
  }

 private:
  struct Sum {
    std::vector<double> hessian;
    int64_t rows;
  };
  const Model& model_;
  const WeightSource& base_;
  mutable std::map<int, Sum> sums_;
};

}  // namespace

std::string CalibrationSet::describe() const {
  return std::to_string(windows.size()) + " × " + std::to_string(seq_len) + " tokens of " + source;
}

std::vector<LayerCalibration> collect_hessians(const Model& model, const WeightSource& source,
                                               const std::vector<int>& ids, const CalibrationSet& data) {
  HessianCollector collector(model, source, ids);
  for (size_t first = 0; first < data.windows.size(); first += kCalibrationBatchRows) {
    const size_t last = std::min(data.windows.size(), first + kCalibrationBatchRows);
    Batch b;
    b.B = int(last - first);
    b.T = data.seq_len;
    // One labelled position per window: the linear inputs are all that is wanted, and the
    // head over every position would cost more than the layers.
    for (size_t w = first; w < last; ++w) {
      b.tokens.insert(b.tokens.end(), data.windows[w].begin(), data.windows[w].end());
      b.targets.insert(b.targets.end(), size_t(data.seq_len - 1), -1);
      b.targets.push_back(data.windows[w].back());
    }
    model.forward_loss(b, &collector);
  }
  std::vector<LayerCalibration> out;
  for (int id : ids) out.push_back(collector.take(id));
  return out;
}

}  // namespace qzo
