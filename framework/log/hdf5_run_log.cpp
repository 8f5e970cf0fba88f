// Writing /runs/<name> of a run log into the run's own file: structure at begin() and summary
// attributes at finish(), each into a new copy of the file renamed into place; SWMR appends
// while training (attributes cannot change under SWMR).
#include "framework/log/hdf5_run_log.h"

#include <algorithm>
#include <cstring>
#include <filesystem>

#include "framework/core/error.h"
#include "framework/log/hdf5_file.h"
#include "framework/log/hdf5_provenance.h"
#include "framework/log/hdf5_run_files.h"

namespace qzo {

namespace {

const H5::PredType& kI64 = H5::PredType::STD_I64LE;
const H5::PredType& kF64 = H5::PredType::IEEE_F64LE;
constexpr hsize_t kStepChunk = 256, kEvalChunk = 64;  // 256 rows: a 300-step run in 2 chunks (committed logs stay small)

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

// Opens the columns of a run group for appending.
void open_columns(Hdf5RunLog::Columns& c, const H5::Group& run) {
  const H5::Group steps = run.openGroup("steps"), eval = run.openGroup("eval");
  c.step = steps.openDataSet("step");
  c.perturbation = steps.openDataSet("perturbation");
  c.loss_plus = steps.openDataSet("loss_plus");
  c.loss_minus = steps.openDataSet("loss_minus");
  c.proj_grad_raw = steps.openDataSet("proj_grad_raw");
  c.proj_grad_clipped = steps.openDataSet("proj_grad_clipped");
  c.clipped = steps.openDataSet("clipped");
  c.lr = steps.openDataSet("lr");
  c.tokens = steps.openDataSet("tokens");
  c.wall_s = steps.openDataSet("wall_s");
  c.skipped_steps = steps.openDataSet("skipped_steps");
  c.eval_step = eval.openDataSet("step");
  c.eval_split = eval.openDataSet("split");
  c.eval_metric = eval.openDataSet("metric");
  c.eval_value = eval.openDataSet("value");
}

void create_columns(const H5::Group& run) {
  const H5::Group steps = run.createGroup("steps"), eval = run.createGroup("eval");
  h5::create_column(steps, "step", kI64, kStepChunk);
  h5::create_column(steps, "perturbation", H5::PredType::STD_I32LE, kStepChunk);
  for (const char* name : {"loss_plus", "loss_minus", "proj_grad_raw", "proj_grad_clipped"})
    h5::create_column(steps, name, kF64, kStepChunk);
  h5::create_column(steps, "clipped", H5::PredType::STD_U8LE, kStepChunk);
  h5::create_column(steps, "lr", kF64, kStepChunk);
  h5::create_column(steps, "tokens", kI64, kStepChunk);
  h5::create_column(steps, "wall_s", kF64, kStepChunk);
  h5::create_column(steps, "skipped_steps", kI64, kStepChunk);
  h5::create_column(eval, "step", kI64, kEvalChunk);
  h5::create_column(eval, "split", text_cell(), kEvalChunk);
  h5::create_column(eval, "metric", text_cell(), kEvalChunk);
  h5::create_column(eval, "value", kF64, kEvalChunk);
}

// Keeps what an earlier attempt of a resumed run logged before its checkpoint: step rows
// before `resume_step` and the dev evaluations up to it (the resumed run logs the zero-shot
// and final evaluations again).
void keep_rows_before(const H5::Group& run, int64_t resume_step) {
  Hdf5RunLog::Columns c;
  open_columns(c, run);
  const H5::Group steps = run.openGroup("steps"), eval = run.openGroup("eval");
  const std::vector<int64_t> step_rows = h5::read_ints(steps, "step");
  size_t keep = 0;
  while (keep < step_rows.size() && step_rows[keep] < resume_step) ++keep;
  for (const H5::DataSet* d : {&c.step, &c.perturbation, &c.loss_plus, &c.loss_minus, &c.proj_grad_raw,
                               &c.proj_grad_clipped, &c.clipped, &c.lr, &c.tokens, &c.wall_s, &c.skipped_steps})
    h5::keep_rows(*d, keep);
  // Rows are rewritten in the order kept: dev and eval-curve rows up to the checkpoint (the
  // resumed attempt does not score those steps again), in logged order.
  const std::vector<int64_t> eval_steps = h5::read_ints(eval, "step");
  const std::vector<std::string> splits = h5::read_texts(eval, "split"), metrics = h5::read_texts(eval, "metric");
  const std::vector<double> values = h5::read_doubles(eval, "value");
  const size_t rows = std::min({eval_steps.size(), splits.size(), metrics.size(), values.size()});
  for (const H5::DataSet* d : {&c.eval_step, &c.eval_split, &c.eval_metric, &c.eval_value}) h5::keep_rows(*d, 0);
  for (size_t i = 0; i < rows; ++i)
    if ((splits[i] == "dev" || splits[i] == "eval_curve") && eval_steps[i] <= resume_step)
      append_eval(c, {eval_steps[i], splits[i], metrics[i], values[i]});
}

// Copies the earlier attempt's group from its file (one a killed SWMR writer left open
// included) into `runs`; false, leaving nothing behind, when there is none to continue.
bool copy_earlier_attempt(const std::string& file, const std::string& name, const H5::Group& runs) {
  if (!std::filesystem::exists(file)) return false;
  try {
    const H5::H5File old = h5::open_for_reading(file);
    if (!old.nameExists("runs") || !old.openGroup("runs").nameExists(name)) return false;
    const H5::Group run = old.openGroup("runs").openGroup(name);
    if (!run.nameExists("steps") || !run.nameExists("eval")) return false;
    h5::copy_group(run, runs.createGroup(name));
    return true;
  } catch (...) {  // H5::Exception or qzo::Error
    // An unreadable earlier attempt (damaged outside qzo): the run starts a fresh group.
    if (runs.nameExists(name)) runs.unlink(name);
    return false;
  }
}

}  // namespace

std::string Hdf5RunLog::run_path() const { return h5::run_file(path_, run_name_); }

void Hdf5RunLog::begin(const RunInfo& info) {
  if (live_) fail(path_ + ": run '" + run_name_ + "' is still open; finish it before beginning '" + info.name + "'");
  if (info.name.empty() || info.name.find('/') != std::string::npos || info.name == "." || info.name == "..")
    fail(path_ + ": run name '" + info.name + "' cannot name an HDF5 group (empty, '.', '..' or has '/')");
  run_name_ = info.name;
  lock_.reset();  // a lock left by a begin() that failed: the new one would conflict with it
  lock_ = std::make_unique<h5::WriterLock>(path_);
  h5::split_single_file_log(path_);  // a log from before per-run files: each run gets its file
  const std::string file = run_path(), tmp = file + ".tmp";
  std::filesystem::create_directories(h5::runs_dir(path_));
  // The run's new file is built whole under a temporary name: a kill leaves the old one.
  guarded(tmp, "begin the run", [&] {
    const H5::H5File fresh = h5::create_file(tmp);
    const H5::Group runs = fresh.createGroup("runs");
    const bool continues = info.resume_step > 0 && copy_earlier_attempt(file, info.name, runs);
    const H5::Group run = continues ? runs.openGroup(info.name) : runs.createGroup(info.name);
    h5::write_attr(run, "name", info.name);
    h5::write_attr(run, "config", info.config_yaml);
    h5::write_attr(run, "config_hash", info.config_hash);
    h5::write_attr(run, "method", info.method);
    h5::write_attr(run, "quantizer", info.quantizer);
    h5::write_attr(run, "task", info.task);
    h5::write_attr(run, "metric", info.metric);
    h5::write_attr(run, "backend", info.backend);
    h5::kill_point_for_tests("begin");
    h5::write_attr(run, "world_size", int64_t{info.world_size});
    h5::write_attr(run, "seed", info.seed);
    h5::write_attr(run, "hosts", join(info.hosts, ","));
    h5::write_attr(run, "git_commit", source_git_commit());
    if (!continues) h5::write_attr(run, "start_time", utc_timestamp());
    h5::write_attr(run, "resumed_from_step", info.resume_step);
    h5::write_attr(run, "labels", labels_.dump());
    h5::write_attr(run, "sweep_index", int64_t{sweep_index_});
    h5::write_attr(run, "status", std::string("running"));
    if (continues) keep_rows_before(run, info.resume_step);
    else create_columns(run);
  });
  h5::replace_file(tmp, file);
  h5::write_index(path_);
  std::unique_ptr<Live> live;
  guarded(file, "begin the run", [&] {
    H5::H5File opened(file, H5F_ACC_RDWR, H5::FileCreatPropList::DEFAULT, h5::latest_format());
    live = std::make_unique<Live>(opened, opened.openGroup("runs").openGroup(info.name));
    open_columns(live->columns, live->run);
    // From here on only appends: what a killed writer leaves stays readable.
    if (H5Fstart_swmr_write(live->file.getId()) < 0) fail(file + ": cannot start SWMR writing");
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

void Hdf5RunLog::sync() {
  if (!live_) return;
  flush_steps();
  const std::string file = run_path();
  void* handle = nullptr;
  if (H5Fget_vfd_handle(live_->file.getId(), H5P_DEFAULT, &handle) < 0 || !handle)
    fail(file + ": cannot reach the file descriptor to fsync");
  h5::sync_descriptor(*static_cast<int*>(handle), file);
}

void Hdf5RunLog::finish(const nlohmann::json& summary, const std::string& status) {
  if (!live_) fail(path_ + ": finish() without begin()");
  flush_steps();
  live_.reset();  // ends the SWMR session: attributes can be written again
  // Into a copy renamed into place: a kill leaves the file as it was, every row in it.
  const std::string file = run_path(), tmp = file + ".tmp";
  std::error_code ec;
  std::filesystem::copy_file(file, tmp, std::filesystem::copy_options::overwrite_existing, ec);
  if (ec) fail(file + ": cannot copy to " + tmp + " to finish the run (" + ec.message() + ")");
  guarded(tmp, "finish the run", [&] {
    const H5::H5File copy(tmp, H5F_ACC_RDWR, H5::FileCreatPropList::DEFAULT, h5::latest_format());
    const H5::Group run = copy.openGroup("runs").openGroup(run_name_);
    h5::write_attr(run, "end_time", utc_timestamp());
    if (summary.is_object() && !summary.empty()) {
      h5::write_attr(run, "summary", summary.dump());
      write_summary_attrs(run, summary);
    }
    h5::kill_point_for_tests("finish");
    // Last, so that a run whose status says finished holds everything else.
    h5::write_attr(run, "status", status);
  });
  h5::replace_file(tmp, file);
  lock_.reset();
}

void write_sweep_info(const std::string& path, const std::string& name, const std::string& sweep_file,
                      const std::string& sweep_text) {
  const h5::WriterLock lock(path);
  h5::split_single_file_log(path);
  h5::write_index(path, h5::SweepHeader{name, sweep_file, sweep_text});
}

}  // namespace qzo
