// The keys of a `qzo train` config (configs/quickstart.yaml documents each one).
#include "framework/train/zo_trainer.h"

namespace qzo {

const Schema& train_schema() {
  static const Schema schema = [] {
    Schema s;
    s.key<int64_t>("seed", 0, "run seed: data sampling and perturbations").min(0);
    s.key<int>("threads", 0, "compute threads per rank (0 = cores / ranks on this host)").min(0);
    s.choice("backend", {"cpu", "cuda", "auto"}, "cpu",
             "compute backend (cuda: GPU = local rank mod the host's GPUs; auto: cuda when a GPU answers)");
    Section model = s.section("model");
    model.key<std::string>("path", required_key, "HF model folder (unquantized, or written by qzo quantize)");
    model.choice("dtype", {"f32", "bf16", "fp16"}, "f32", "storage of unquantized weights");
    Section quant = s.section("quant");
    quant.choice("method", {"none", "rtn", "nf4", "gptq", "codebook"}, "rtn",
                 "quantizer applied at load (none = unquantized; gptq and codebook calibrate on pretraining text)");
    quant.key<int>("bits", 4, "bits per code (rtn, gptq: 2, 3, 4, 8; nf4: 4; codebook: 2, 3, 4)").min(2).max(8);
    quant.key<int>("group_size", 32, "weights per scale along a row (0 = per channel; codebook: always per channel)")
        .min(0);
    quant.key<bool>("symmetric", false, "symmetric RTN/GPTQ (zero point 2^(bits-1))");
    quant.key<bool>("desc_act", false, "gptq: act-order, columns by decreasing Hessian diagonal (g_idx)");
    quant.key<double>("damp", 0.01, "gptq: dampening added to the Hessian diagonal, relative to its mean").positive();
    quant.choice("calibration", {"corpus", "task"}, "corpus",
                 "gptq, codebook: calibrate on pretraining-split text (the same in every run) or on the run's own "
                 "task training split (prompt + gold answer; never dev or eval)");
    quant.key<int>("calibration_samples", 128, "gptq, codebook: calibration windows of quant.calibration text")
        .positive();
    quant.key<int>("calibration_seq_len", 128, "gptq, codebook: tokens per calibration window (at most the model's "
                                               "max_position_embeddings)")
        .min(2);
    quant.key<bool>("double_quant", false,
                    "nf4: bitsandbytes' layout with 8-bit double-quantized absmax (QLoRA's frozen base; QZO "
                    "trains fp32 scales and refuses it)");
    Section method = s.section("method");
    method.choice("name", {"qzo", "mezo", "qlora", "ft", "zeroshot", "icl"}, "qzo",
                  "what to run: qzo, mezo (zeroth-order), qlora, ft (backprop), zeroshot, icl");
    method.choice("update", {"sgd", "signsgd"}, "sgd",
                  "ZO update, averaged over the n perturbations: sgd (θ -= lr·d·z/n, the paper's) or signsgd "
                  "(θ -= lr·sign(d)·z/n)");
    method.key<double>("eps", 1e-3, "perturbation scale ε").positive();
    method.key<int>("n_perturbations", 1, "perturbations averaged per step").positive();
    method.key<std::optional<double>>("clip_threshold", std::optional<double>(100.0),
                                      "directional-derivative clipping C (none = off)")
        .positive();
    method.key<double>("scale_floor", 1e-7, "QZO: scales never step below this").min(0);
    method.choice("perturbation", {"additive", "multiplicative"}, "additive",
                  "QZO: S + εz and S -= lr·d·z (the paper's; ε, lr, C in scale units), or S·exp(εz) and "
                  "S *= exp(-lr·d·z) (SPSA on log S; relative to each scale, so they transfer between quantizers)");
    method.key<double>("weight_decay", 0.0, "MeZO: decoupled weight decay (not on norms/biases)").min(0);
    method.choice("nonfinite", {"skip", "stop"}, "skip", "what a NaN/inf loss does to the step");
    method.key<int>("icl_k", 4, "ICL: demonstrations per prompt").min(0);
    method.key<int>("lora_r", 8, "QLoRA: adapter rank r").positive();
    method.key<double>("lora_alpha", 16.0, "QLoRA: adapter scaling alpha (the update is alpha/r · B A x)").positive();
    method.key<double>("lora_dropout", 0.0, "QLoRA: dropout on the adapters' input").min(0).max(0.95);
    method.key<std::string>("lora_targets", "q_proj,v_proj",
                            "QLoRA: adapted modules (comma-separated q_proj, k_proj, v_proj, o_proj, gate_proj, "
                            "up_proj, down_proj, or all-linear)");
    method.key<bool>("activation_checkpointing", false,
                     "QLoRA, FT: keep only each layer's input and recompute the layer in the backward");
    Section optim = s.section("optim");
    optim.key<double>("lr", 1e-5, "learning rate η").min(0);
    optim.choice("schedule", {"constant", "linear", "cosine"}, "constant", "learning-rate schedule");
    optim.key<int>("warmup_steps", 0, "linear warmup steps").min(0);
    optim.key<int>("steps", 600, "training steps").min(0);
    optim.choice("optimizer", {"adamw", "sgd"}, "adamw", "QLoRA, FT: the backprop optimizer");
    optim.key<double>("beta1", 0.9, "AdamW: first-moment decay").min(0).max(0.999999);
    optim.key<double>("beta2", 0.999, "AdamW: second-moment decay").min(0).max(0.999999);
    optim.key<double>("weight_decay", 0.0, "QLoRA, FT: AdamW's decoupled weight decay (matrices only)").min(0);
    optim.key<double>("max_grad_norm", 1.0, "QLoRA, FT: clip the global gradient norm to this (0 = off)").min(0);
    optim.key<int>("batch_size", 16, "examples per step (global, over all ranks)").positive();
    Section task = s.section("task");
    task.key<std::string>("name", "spam", "configs/tasks/<name>.yaml or a path to a task YAML");
    task.key<std::string>("data_dir", "",
                          "folder of the task's JSONL files (empty: <cache>/data, from launch/setup.sh)");
    task.key<int>("n_train", 1000, "training examples").min(0);
    task.key<int>("n_dev", 200, "dev examples (checkpoint selection)").min(0);
    task.key<int>("n_eval", 1000, "evaluation examples").min(1);
    task.key<int>("max_prompt_tokens", 160, "prompts are cut from the left to this many tokens").min(8);
    task.key<int>("max_new_tokens", 32, "generation tasks: tokens generated per answer").positive();
    Section eval = s.section("eval");
    eval.key<int>("interval", 100, "steps between dev evaluations (0 = only at the end)").min(0);
    eval.key<int>("batch_rows", 32, "rows per forward pass when scoring").positive();
    eval.key<bool>("zero_shot", true, "also score the untrained model on the scored split");
    eval.choice("split", {"eval", "dev"}, "eval",
                "what the final score is measured on: eval (held out), or dev to choose prompts and settings "
                "without looking at eval");
    eval.key<bool>("curve", false,
                   "also score the eval split at every dev interval, logged as eval_curve for compute-matched "
                   "plots (never used to select anything)");
    Section dist = s.section("dist");
    dist.choice("backend", {"auto", "local", "mpi", "nccl"}, "auto",
                "communicator (auto: NCCL when every rank computes on a GPU, MPI under mpirun, else local)");
    dist.choice("mode", {"data", "perturbation"}, "data",
                "data: ranks split each batch; perturbation: ranks split the n perturbations");
    dist.key<int>("guard_interval", 100, "steps between replica-hash checks (0 = only at the end)").min(0);
    dist.key<double>("bucket_mb", 4.0, "QLoRA, FT: gradients are all-reduced in buckets of this many MB").positive();
    Section log = s.section("log");
    log.key<std::string>("dir", "runs", "where runs/<name>/summary.json is written");
    log.key<std::string>("name", "", "run name (empty = <task>-<method>-<quant>-s<seed>)");
    log.key<int>("interval", 10, "steps between progress lines").positive();
    log.key<int>("checkpoint_interval", 100, "steps between resumable checkpoints (0 = none)").min(0);
    log.key<bool>("resume", true, "continue from runs/<name>/checkpoint.safetensors when one is there");
    return s;
  }();
  return schema;
}

}  // namespace qzo
