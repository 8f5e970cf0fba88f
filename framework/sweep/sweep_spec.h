// A sweep file (experiments/*.yaml): a base run config, overrides shared by every run, and
// axes over any config key — grid axes multiply, a zip group advances its keys together.
//   name: ddc-ablation
//   base: ../configs/quickstart.yaml       # relative to the sweep file
//   output: runs/ddc-ablation.h5           # relative to the working directory
//   set: {optim.steps: 300}
//   grid: {method.clip_threshold: [none, 25, 100], seed: [0, 1]}
//   zip: {method.name: [qzo, mezo], quant.method: [rtn, none]}   # or a list of such groups
#pragma once
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "framework/config/config.h"

namespace qzo {

// One config key's value as the sweep file wrote it, with its line for messages.
struct SweepValue {
  std::string key;
  YAML::Node node;
  int line = 0;
};

// A grid axis (one key) or a zip group (several keys, values taken at the same index).
struct SweepAxis {
  std::vector<std::string> keys;
  std::vector<std::vector<SweepValue>> points;  // points[i][k]: i-th point of keys[k]
};

struct SweepSpec {
  std::string file;    // the sweep file as given
  std::string name;    // `name:`, or the file's stem
  std::string base;    // the base run config, resolved against the sweep file's folder
  std::string output;  // `output:`, or runs/<name>.h5
  std::string text;    // the sweep file's text (stored in the log)
  std::vector<SweepValue> set;
  std::vector<SweepAxis> axes;  // in file order; the first varies slowest
};

// Throws one line naming the file, line and key for unknown or mistyped keys and values,
// zip groups of unequal length, and keys the sweep sets itself (log.name).
SweepSpec load_sweep(const std::string& path, const Schema& schema);

// One run of an expanded sweep.
struct SweepRun {
  std::string name;                                        // "method.clip_threshold=25,seed=0"
  std::vector<std::pair<std::string, std::string>> point;  // its axis values, as formatted
  Config config;                                           // fully resolved, log.name = name
};

// The product of the axes, in order; `overrides` ("key=value", as --set) are applied to every
// run last. Every run's config is built and validated before anything runs.
std::vector<SweepRun> expand_sweep(const SweepSpec& spec, const Schema& schema,
                                   const std::vector<std::string>& overrides = {});

}  // namespace qzo
