// `qzo pretrain CONFIG [--set key=value ...]`: builds the default model (see train/pretrain.h).
#include <cstdio>

#include "framework/cli/commands.h"
#include "framework/config/load.h"
#include "framework/train/pretrain.h"
#include "framework/train/progress.h"

namespace qzo::cli {

void add_pretrain_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("pretrain", "pretrain the default model on the spam-assassin emails");
  auto config_path = std::make_shared<std::string>();
  auto overrides = std::make_shared<std::vector<std::string>>();
  cmd->add_option("config", *config_path, "pretraining YAML (e.g. configs/pretrain-tiny.yaml)")->required();
  cmd->add_option("--set", *overrides, "override a config key: --set train.steps=100");
  cmd->callback([config_path, overrides] {
    const Config cfg = load_config(*config_path, pretrain_schema(), *overrides);
    const PretrainReport r = pretrain(cfg);
    std::printf("pretrain: done, %s of training steps to the best checkpoint | %ld steps | %s tok/s | val loss %.4f vs unigram %.4f | %s\n",
                format_duration(r.seconds).c_str(), r.steps, format_rate(r.tokens_per_second).c_str(), r.val_loss,
                r.unigram_loss, cfg.get<std::string>("output").c_str());
  });
}

}  // namespace qzo::cli
