// Writing /runs/<name> of a run log: structure at begin(), SWMR appends while training,
// summary attributes after the SWMR session is closed (attributes cannot change under SWMR).
#include "framework/log/hdf5_run_log.h"

#include <algorithm>
#include <cstring>

#include "framework/core/error.h"
#include "framework/log/hdf5_file.h"
#include "framework/log/hdf5_provenance.h"

namespace qzo {

namespace {

const H5::PredType& kI64 = H5::PredType::STD_I64LE;
const H5::PredType& kF64 = H5::PredType::IEEE_F64LE;
constexpr hsize_t kStepChunk = 1024, kEvalChunk = 64;

H5::StrType text_cell() {
  H5::StrType type(H5::PredType::C_S1, h5::kTextCell);
  type.setStrpad(H5T_STR_NULLPAD);
  return type;
}

std::string join(const std::vector<std::string>& items, const char* sep) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) out += (i ? sep : "") + items[i];
  return out;
}

template <typename Fn>
void guarded(const std::string& path, const char* what, Fn&& fn) {
  try {
    fn();
  } catch (const H5::Exception& e) {
    fail(path + ": cannot " + what + " (" + e.getDetailMsg() + ")");
  }
}

// Summary numbers copied to attributes of their own so that h5py readers need no JSON.
void write_summary_attrs(const H5::Group& run, const nlohmann::json& summary) {
  for (const char* key : {"final", "zero_shot", "best_dev", "clip_rate", "train_seconds", "ms_per_step",
                          "tokens_per_second", "total_seconds"})
    if (summary.contains(key) && summary[key].is_number()) h5::write_attr(run, key, summary[key].get<double>());
  for (const char* key : {"steps", "best_step", "skipped_steps", "eval_examples"})
    if (summary.contains(key) && summary[key].is_number()) h5::write_attr(run, key, summary[key].get<int64_t>());
  if (summary.contains("memory")) {
    H5::Group memory = run.createGroup("memory");
    for (const auto& [name, value] : summary["memory"].items())
      if (value.is_number()) h5::write_attr(memory, name, value.get<int64_t>());
  }
  if (summary.contains("bytes_reduced_per_step")) {
    H5::Group comm = run.createGroup("comm");
    h5::write_attr(comm, "bytes_per_step", summary["bytes_reduced_per_step"].get<double>());
  }
}

}  // namespace

struct Hdf5RunLog::Columns {
  H5::DataSet step, perturbation, loss_plus, loss_minus, proj_grad_raw, proj_grad_clipped, clipped, lr,
      tokens, wall_s, skipped_steps;
  H5::DataSet eval_step, eval_split, eval_metric, eval_value;
};

struct Hdf5RunLog::Live {
  Live(H5::H5File f, H5::Group g) : file(std::move(f)), run(std::move(g)) {}
  H5::H5File file;
  H5::Group run;
  Columns columns;
};

namespace {

void append_eval(const Hdf5RunLog::Columns& c, const EvalRecord& record) {
  char split[h5::kTextCell] = {0}, metric[h5::kTextCell] = {0};
  std::memcpy(split, record.split.data(), std::min(record.split.size(), sizeof split));
  std::memcpy(metric, record.metric.data(), std::min(record.metric.size(), sizeof metric));
  h5::append_rows(c.eval_step, H5::PredType::NATIVE_INT64, &record.step, 1);
  h5::append_rows(c.eval_split, text_cell(), split, 1);
  h5::append_rows(c.eval_metric, text_cell(), metric, 1);
  h5::append_rows(c.eval_value, H5::PredType::NATIVE_DOUBLE, &record.value, 1);
}

}  // namespace

Hdf5RunLog::Hdf5RunLog(std::string path, int flush_every)
    : path_(std::move(path)), flush_every_(flush_every < 1 ? 1 : flush_every) {}

Hdf5RunLog::~Hdf5RunLog() { close_live(); }

void Hdf5RunLog::close_live() noexcept {
  if (!live_) return;
  try {
    flush_steps();
  } catch (...) {
    // Destruction after an error: the rows already flushed are what the file keeps.
  }
  live_.reset();
}

namespace {

// Opens the columns of `run`, creating them in a new group or keeping what an earlier attempt
// of a resumed run logged before its checkpoint: step rows before `resume_step` and the dev
// evaluations up to it (the resumed run logs the zero-shot and final evaluations again).
void open_columns(Hdf5RunLog::Columns& c, const H5::Group& run, bool fresh, int64_t resume_step) {
  const auto column = [&](const H5::Group& group, const char* name, const H5::DataType& type, hsize_t chunk) {
    return fresh ? h5::create_column(group, name, type, chunk) : group.openDataSet(name);
  };
  const H5::Group steps = fresh ? run.createGroup("steps") : run.openGroup("steps");
  c.step = column(steps, "step", kI64, kStepChunk);
  c.perturbation = column(steps, "perturbation", H5::PredType::STD_I32LE, kStepChunk);
  c.loss_plus = column(steps, "loss_plus", kF64, kStepChunk);
  c.loss_minus = column(steps, "loss_minus", kF64, kStepChunk);
  c.proj_grad_raw = column(steps, "proj_grad_raw", kF64, kStepChunk);
  c.proj_grad_clipped = column(steps, "proj_grad_clipped", kF64, kStepChunk);
  c.clipped = column(steps, "clipped", H5::PredType::STD_U8LE, kStepChunk);
  c.lr = column(steps, "lr", kF64, kStepChunk);
  c.tokens = column(steps, "tokens", kI64, kStepChunk);
  c.wall_s = column(steps, "wall_s", kF64, kStepChunk);
  c.skipped_steps = column(steps, "skipped_steps", kI64, kStepChunk);
  const H5::Group eval = fresh ? run.createGroup("eval") : run.openGroup("eval");
  c.eval_step = column(eval, "step", kI64, kEvalChunk);
  c.eval_split = column(eval, "split", text_cell(), kEvalChunk);
  c.eval_metric = column(eval, "metric", text_cell(), kEvalChunk);
  c.eval_value = column(eval, "value", kF64, kEvalChunk);
  if (fresh) return;

  const std::vector<int64_t> step_rows = h5::read_ints(steps, "step");
  size_t keep = 0;
  while (keep < step_rows.size() && step_rows[keep] < resume_step) ++keep;
  for (const H5::DataSet* d : {&c.step, &c.perturbation, &c.loss_plus, &c.loss_minus, &c.proj_grad_raw,
                               &c.proj_grad_clipped, &c.clipped, &c.lr, &c.tokens, &c.wall_s, &c.skipped_steps})
    h5::keep_rows(*d, keep);
  // Rows are rewritten in the order kept: dev rows up to the checkpoint, in logged order.
  const std::vector<int64_t> eval_steps = h5::read_ints(eval, "step");
  const std::vector<std::string> splits = h5::read_texts(eval, "split"), metrics = h5::read_texts(eval, "metric");
  const std::vector<double> values = h5::read_doubles(eval, "value");
  for (const H5::DataSet* d : {&c.eval_step, &c.eval_split, &c.eval_metric, &c.eval_value}) h5::keep_rows(*d, 0);
  for (size_t i = 0; i < eval_steps.size(); ++i)
    if (splits[i] == "dev" && eval_steps[i] <= resume_step)
      append_eval(c, {eval_steps[i], splits[i], metrics[i], values[i]});
}

}  // namespace

void Hdf5RunLog::begin(const RunInfo& info) {
  if (live_) fail(path_ + ": run '" + run_name_ + "' is still open; finish it before beginning '" + info.name + "'");
  if (info.name.empty() || info.name.find('/') != std::string::npos || info.name == "." || info.name == "..")
    fail(path_ + ": run name '" + info.name + "' cannot name an HDF5 group (empty, '.', '..' or has '/')");
  run_name_ = info.name;
  lock_.reset();  // a lock left by a begin() that failed: the new one would conflict with it
  lock_ = std::make_unique<h5::WriterLock>(path_);
  std::unique_ptr<Live> live;
  guarded(path_, "begin the run", [&] {
    H5::H5File file = h5::open_for_writing(path_);
    H5::Group runs = file.openGroup("runs");
    const bool continues = info.resume_step > 0 && runs.nameExists(info.name) &&
                           runs.openGroup(info.name).nameExists("steps");
    if (!continues && runs.nameExists(info.name)) runs.unlink(info.name);  // an unfinished earlier attempt
    live = std::make_unique<Live>(file, continues ? runs.openGroup(info.name) : runs.createGroup(info.name));
    const H5::Group& run = live->run;
    h5::write_attr(run, "name", info.name);
    h5::write_attr(run, "config", info.config_yaml);
    h5::write_attr(run, "config_hash", info.config_hash);
    h5::write_attr(run, "method", info.method);
    h5::write_attr(run, "quantizer", info.quantizer);
    h5::write_attr(run, "task", info.task);
    h5::write_attr(run, "metric", info.metric);
    h5::write_attr(run, "backend", info.backend);
    h5::write_attr(run, "world_size", int64_t{info.world_size});
    h5::write_attr(run, "seed", info.seed);
    h5::write_attr(run, "hosts", join(info.hosts, ","));
    h5::write_attr(run, "git_commit", source_git_commit());
    if (!continues) h5::write_attr(run, "start_time", utc_timestamp());
    h5::write_attr(run, "resumed_from_step", info.resume_step);
    h5::write_attr(run, "labels", labels_.dump());
    h5::write_attr(run, "sweep_index", int64_t{sweep_index_});
    h5::write_attr(run, "status", std::string("running"));
    open_columns(live->columns, run, !continues, info.resume_step);
    // The truncated columns go to disk before SWMR writing, which only appends from here on.
    live->file.flush(H5F_SCOPE_GLOBAL);
    // From here on only appends: what a killed writer leaves stays readable.
    if (H5Fstart_swmr_write(live->file.getId()) < 0) fail(path_ + ": cannot start SWMR writing");
  });
  live_ = std::move(live);
  pending_.clear();
}

void Hdf5RunLog::step(const StepRecord& record) {
  if (!live_) fail(path_ + ": step logged outside begin()/finish()");
  pending_.push_back(record);
  if (static_cast<int>(pending_.size()) >= flush_every_) flush_steps();
}

void Hdf5RunLog::flush_steps() {
  if (!live_) return;
  const size_t n = pending_.size();
  guarded(path_, "append steps", [&] {
    std::vector<int64_t> step(n), tokens(n), skipped(n);
    std::vector<int32_t> perturbation(n);
    std::vector<double> lp(n), lm(n), raw(n), clip(n), lr(n), wall(n);
    std::vector<uint8_t> clipped(n);
    for (size_t i = 0; i < n; ++i) {
      const StepRecord& r = pending_[i];
      step[i] = r.step, perturbation[i] = r.perturbation, lp[i] = r.loss_plus, lm[i] = r.loss_minus;
      raw[i] = r.proj_grad_raw, clip[i] = r.proj_grad_clipped, clipped[i] = r.clipped ? 1 : 0;
      lr[i] = r.lr, tokens[i] = r.tokens, wall[i] = r.wall_s, skipped[i] = r.skipped_steps;
    }
    const H5::PredType &i64 = H5::PredType::NATIVE_INT64, &f64 = H5::PredType::NATIVE_DOUBLE;
    const Columns& c = live_->columns;
    h5::append_rows(c.step, i64, step.data(), n);
    h5::append_rows(c.perturbation, H5::PredType::NATIVE_INT32, perturbation.data(), n);
    h5::append_rows(c.loss_plus, f64, lp.data(), n);
    h5::append_rows(c.loss_minus, f64, lm.data(), n);
    h5::append_rows(c.proj_grad_raw, f64, raw.data(), n);
    h5::append_rows(c.proj_grad_clipped, f64, clip.data(), n);
    h5::append_rows(c.clipped, H5::PredType::NATIVE_UINT8, clipped.data(), n);
    h5::append_rows(c.lr, f64, lr.data(), n);
    h5::append_rows(c.tokens, i64, tokens.data(), n);
    h5::append_rows(c.wall_s, f64, wall.data(), n);
    h5::append_rows(c.skipped_steps, i64, skipped.data(), n);
    live_->file.flush(H5F_SCOPE_GLOBAL);
  });
  pending_.clear();
}

void Hdf5RunLog::eval(const EvalRecord& record) {
  if (!live_) fail(path_ + ": evaluation logged outside begin()/finish()");
  flush_steps();
  guarded(path_, "append an evaluation", [&] {
    append_eval(live_->columns, record);
    live_->file.flush(H5F_SCOPE_GLOBAL);
  });
}

void Hdf5RunLog::finish(const nlohmann::json& summary, const std::string& status) {
  if (!live_) fail(path_ + ": finish() without begin()");
  flush_steps();
  live_.reset();  // ends the SWMR session: attributes can be written again
  guarded(path_, "finish the run", [&] {
    H5::H5File file = h5::open_for_writing(path_);
    H5::Group run = file.openGroup("runs").openGroup(run_name_);
    h5::write_attr(run, "end_time", utc_timestamp());
    if (summary.is_object() && !summary.empty()) {
      h5::write_attr(run, "summary", summary.dump());
      write_summary_attrs(run, summary);
    }
    // Last, so that a crash in between leaves the run looking unfinished.
    h5::write_attr(run, "status", status);
  });
  lock_.reset();
}

void write_sweep_info(const std::string& path, const std::string& name, const std::string& sweep_file,
                      const std::string& sweep_text) {
  const h5::WriterLock lock(path);
  guarded(path, "record the sweep", [&] {
    H5::H5File file = h5::open_for_writing(path);
    H5::Group sweep = file.nameExists("sweep") ? file.openGroup("sweep") : file.createGroup("sweep");
    h5::write_attr(sweep, "name", name);
    h5::write_attr(sweep, "file", sweep_file);
    h5::write_attr(sweep, "text", sweep_text);
  });
}

}  // namespace qzo
