// Reads /runs/<name> groups written by Hdf5RunLog (schema: docs/hdf5-log.md): from the run
// files an index names, or from a single-file log of the layout before per-run files.
#include "framework/log/hdf5_log_reader.h"

#include <filesystem>
#include <set>
#include <sstream>

#include "framework/core/error.h"
#include "framework/log/hdf5_file.h"
#include "framework/log/hdf5_run_files.h"

namespace qzo {

namespace {

std::string required_text(const H5::Group& run, const std::string& name, const std::string& where) {
  const auto value = h5::read_string_attr(run, name);
  if (!value) fail(where + ": missing attribute '" + name + "' (not a qzo run log?)");
  return *value;
}

std::vector<std::string> split_commas(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) out.push_back(item);
  return out;
}

nlohmann::json parse_json_attr(const H5::Group& run, const std::string& name, const std::string& where) {
  const auto text = h5::read_string_attr(run, name);
  if (!text || text->empty()) return nlohmann::json::object();
  try {
    return nlohmann::json::parse(*text);
  } catch (const nlohmann::json::exception&) {  // parse_error, and out_of_range for 1e999
    fail(where + ": attribute '" + name + "' is not valid JSON");
  }
}

void read_columns(const H5::Group& run, LoggedRun& out) {
  const H5::Group steps = run.openGroup("steps");
  LoggedSteps& s = out.steps;
  s.step = h5::read_ints(steps, "step");
  s.perturbation = h5::read_ints(steps, "perturbation");
  s.loss_plus = h5::read_doubles(steps, "loss_plus");
  s.loss_minus = h5::read_doubles(steps, "loss_minus");
  s.proj_grad_raw = h5::read_doubles(steps, "proj_grad_raw");
  s.proj_grad_clipped = h5::read_doubles(steps, "proj_grad_clipped");
  s.clipped = h5::read_ints(steps, "clipped");
  s.lr = h5::read_doubles(steps, "lr");
  s.tokens = h5::read_ints(steps, "tokens");
  s.wall_s = h5::read_doubles(steps, "wall_s");
  s.skipped_steps = h5::read_ints(steps, "skipped_steps");
  // Columns are extended one after another; a writer killed between two of them leaves some
  // a few rows longer. Only complete rows count.
  size_t rows = s.step.size();
  for (size_t n : {s.perturbation.size(), s.loss_plus.size(), s.loss_minus.size(), s.proj_grad_raw.size(),
                   s.proj_grad_clipped.size(), s.clipped.size(), s.lr.size(), s.tokens.size(), s.wall_s.size(),
                   s.skipped_steps.size()})
    rows = std::min(rows, n);
  for (auto* v : {&s.step, &s.perturbation, &s.clipped, &s.tokens, &s.skipped_steps}) v->resize(rows);
  for (auto* v : {&s.loss_plus, &s.loss_minus, &s.proj_grad_raw, &s.proj_grad_clipped, &s.lr, &s.wall_s})
    v->resize(rows);

  const H5::Group eval = run.openGroup("eval");
  const auto step = h5::read_ints(eval, "step");
  const auto split = h5::read_texts(eval, "split");
  const auto metric = h5::read_texts(eval, "metric");
  const auto value = h5::read_doubles(eval, "value");
  const size_t n = std::min({step.size(), split.size(), metric.size(), value.size()});
  for (size_t i = 0; i < n; ++i) out.evals.push_back({step[i], split[i], metric[i], value[i]});
}

LoggedRun read_run(const H5::Group& run, const std::string& where, bool with_columns) {
  LoggedRun out;
  RunInfo& info = out.info;
  info.name = required_text(run, "name", where);
  info.config_yaml = required_text(run, "config", where);
  info.config_hash = h5::read_uint_attr(run, "config_hash").value_or(0);
  info.resume_step = h5::read_int_attr(run, "resumed_from_step").value_or(0);
  info.method = required_text(run, "method", where);
  info.quantizer = required_text(run, "quantizer", where);
  info.task = required_text(run, "task", where);
  info.metric = required_text(run, "metric", where);
  info.backend = h5::read_string_attr(run, "backend").value_or("");
  info.world_size = static_cast<int>(h5::read_int_attr(run, "world_size").value_or(1));
  info.seed = h5::read_uint_attr(run, "seed").value_or(0);
  info.hosts = split_commas(h5::read_string_attr(run, "hosts").value_or(""));
  out.status = required_text(run, "status", where);
  out.git_commit = h5::read_string_attr(run, "git_commit").value_or("");
  out.start_time = h5::read_string_attr(run, "start_time").value_or("");
  out.end_time = h5::read_string_attr(run, "end_time").value_or("");
  out.labels = parse_json_attr(run, "labels", where);
  out.sweep_index = static_cast<int>(h5::read_int_attr(run, "sweep_index").value_or(-1));
  out.summary = parse_json_attr(run, "summary", where);
  if (with_columns) read_columns(run, out);
  return out;
}

}  // namespace

namespace {

// Every /runs/<name> group of a single-file log (a run's own file is one, holding one run).
std::vector<LoggedRun> read_groups(const H5::H5File& file, const std::string& path, bool with_columns) {
  std::vector<LoggedRun> out;
  std::string where = path;
  try {
    if (!file.nameExists("runs")) fail(path + ": no /runs group (not a qzo run log)");
    const H5::Group runs = file.openGroup("runs");
    for (hsize_t i = 0; i < runs.getNumObjs(); ++i) {
      const std::string name = runs.getObjnameByIdx(i);
      where = path + ":/runs/" + name;
      out.push_back(read_run(runs.openGroup(name), where, with_columns));
    }
  } catch (const H5::Exception& e) {
    fail(where + ": cannot read (" + e.getDetailMsg() + ")");
  }
  return out;
}

// The runs of an index: those it links and those with a file in its folder (a kill between a
// run's file and the index leaves one unlinked), each read from its own file. A run file that
// cannot be read is one unfinished run, named with the reason: never the end of the others.
std::vector<LoggedRun> read_indexed(const H5::H5File& index, const std::string& path, bool with_columns) {
  std::set<std::string> names;
  try {
    if (index.nameExists("runs")) {
      const H5::Group runs = index.openGroup("runs");
      for (hsize_t i = 0; i < runs.getNumObjs(); ++i) names.insert(runs.getObjnameByIdx(i));
    }
  } catch (const H5::Exception& e) {
    fail(path + ": cannot read the index (" + e.getDetailMsg() + ")");
  }
  for (const std::string& name : h5::runs_with_files(path)) names.insert(name);
  std::vector<LoggedRun> out;
  for (const std::string& name : names) {
    const std::string file = h5::run_file(path, name);
    if (name.empty() || name.find('/') != std::string::npos || !std::filesystem::exists(file)) continue;
    try {
      const H5::H5File one = h5::open_for_reading(file);
      for (LoggedRun& run : read_groups(one, file, with_columns))
        if (run.info.name == name) out.push_back(std::move(run));
    } catch (const Error& e) {
      LoggedRun unreadable;
      unreadable.info.name = name;
      unreadable.status = std::string("unreadable: ") + e.what();
      out.push_back(std::move(unreadable));
    }
  }
  return out;
}

}  // namespace

std::vector<LoggedRun> read_run_log(const std::string& path, bool with_columns) {
  const H5::H5File file = h5::open_for_reading(path);
  bool index = false;
  try {
    index = h5::read_string_attr(file, "layout").value_or("") == "index";
  } catch (const H5::Exception& e) {
    fail(path + ": cannot read (" + e.getDetailMsg() + ")");
  }
  return index ? read_indexed(file, path, with_columns) : read_groups(file, path, with_columns);
}

}  // namespace qzo
