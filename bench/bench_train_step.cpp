// Napkin math for model sizes on this machine: tokens/s of one backprop training step
// (forward + backward) and of one inference forward, for a few Llama shapes.
//   build/bench_train_step [threads]
#include <chrono>
#include <functional>
#include <cstdio>
#include <cstdlib>
#include <random>

#include "framework/core/threads.h"
#include "framework/model/model.h"

using namespace qzo;

static double seconds_of(const std::function<void()>& f, int reps) {
  f();  // warm-up
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < reps; ++i) f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / reps;
}

int main(int argc, char** argv) {
  set_compute_threads(argc > 1 ? std::atoi(argv[1]) : 0);
  struct Shape { int vocab, d, layers, heads, kv, ffn, T, B; };
  const Shape shapes[] = {{4096, 192, 4, 6, 2, 512, 256, 8}, {4096, 256, 4, 8, 4, 688, 256, 8},
                          {8192, 256, 6, 8, 4, 688, 256, 8}, {4096, 320, 6, 8, 4, 864, 256, 8}};
  std::printf("%8s %5s %6s %5s %5s %9s %12s %12s %10s\n", "vocab", "d", "layers", "ffn", "T", "params",
              "train tok/s", "fwd tok/s", "GFLOP/s");
  for (const Shape& s : shapes) {
    ModelConfig c;
    c.vocab_size = s.vocab; c.hidden_size = s.d; c.num_hidden_layers = s.layers; c.num_attention_heads = s.heads;
    c.num_key_value_heads = s.kv; c.head_dim = s.d / s.heads; c.intermediate_size = s.ffn;
    c.max_position_embeddings = s.T; c.tie_word_embeddings = true;
    Model model = Model::init(c, 1);
    Batch b;
    b.B = s.B; b.T = s.T;
    std::mt19937 rng(1);
    for (int i = 0; i < s.B * s.T; ++i) { b.tokens.push_back(rng() % s.vocab); b.targets.push_back(rng() % s.vocab); }
    Gradients g(model);
    const double train = seconds_of([&] { model.forward_backward(b, g, 1.0f); }, 3);
    const double fwd = seconds_of([&] { model.forward_loss(b); }, 3);
    const double tokens = double(s.B) * s.T;
    const double flops = 6.0 * double(model.num_parameters()) * tokens;
    std::printf("%8d %5d %6d %5d %5d %8.2fM %12.0f %12.0f %10.1f\n", s.vocab, s.d, s.layers, s.ffn, s.T,
                model.num_parameters() / 1e6, tokens / train, tokens / fwd, flops / train / 1e9);
  }
}
