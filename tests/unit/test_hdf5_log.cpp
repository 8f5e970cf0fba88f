// Specification of the HDF5 run log: what is written reads back identically, runs append to
// an existing log, a writer killed with SIGKILL leaves every flushed step readable, a kill at
// any moment of one run's writing leaves every other run's file untouched, and a rerun after
// the kill replaces or continues the killed run.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "framework/core/error.h"
#include "framework/log/hdf5_file.h"
#include "framework/log/hdf5_log_reader.h"
#include "framework/log/hdf5_provenance.h"
#include "framework/log/hdf5_run_files.h"
#include "framework/log/hdf5_run_log.h"
#include "tests/support/error_of.h"
#include "tests/support/temp_dir.h"

namespace qzo {
namespace {

namespace fs = std::filesystem;

RunInfo info_named(const std::string& name) {
  RunInfo info;
  info.name = name;
  info.config_yaml = "seed: 3\nmethod:\n  name: qzo\n";
  info.method = "qzo";
  info.quantizer = "rtn4-g32";
  info.task = "spam";
  info.metric = "accuracy";
  info.backend = "mpi";
  info.world_size = 2;
  info.seed = 3;
  info.hosts = {"node-a", "node-b"};
  info.config_hash = 0xfedcba9876543210ULL;
  return info;
}

StepRecord step_number(int64_t i) {
  StepRecord r;
  r.step = i;
  r.perturbation = static_cast<int>(i % 2);
  r.loss_plus = 1.0 + 0.25 * i;
  r.loss_minus = 1.0 - 0.125 * i;
  r.proj_grad_raw = 187.5 * i - 300;
  r.proj_grad_clipped = std::max(-100.0, std::min(100.0, r.proj_grad_raw));
  r.clipped = r.proj_grad_raw != r.proj_grad_clipped;
  r.lr = 3e-5;
  r.tokens = 1000 + i;
  r.wall_s = 0.5 * i;
  r.skipped_steps = i / 4;
  return r;
}

nlohmann::json summary_with_final(double final_metric) {
  return {{"final", final_metric},
          {"zero_shot", 0.744},
          {"steps", 7},
          {"clip_rate", 0.25},
          {"bytes_reduced_per_step", 48.0},
          {"memory", {{"weights_bytes", 4180000}, {"trainable_bytes", 196608}, {"optimizer_bytes", 0}}}};
}

void write_finished_run(const std::string& path, const std::string& name, int steps, double final_metric) {
  Hdf5RunLog log(path, 3);
  log.set_labels({{"seed", "3"}});
  log.begin(info_named(name));
  for (int i = 0; i < steps; ++i) log.step(step_number(i));
  log.eval({0, "zero_shot", "accuracy", 0.744});
  log.eval({steps, "eval", "accuracy", final_metric});
  log.finish(summary_with_final(final_metric), "finished");
}

const LoggedRun& run_named(const std::vector<LoggedRun>& runs, const std::string& name) {
  for (const LoggedRun& r : runs)
    if (r.info.name == name) return r;
  throw std::runtime_error("no run " + name);
}

TEST(Hdf5Log, WhatIsWrittenReadsBackIdentically) {
  TempDir dir("qzo_h5");
  const std::string path = dir.file("sweep.h5");
  write_finished_run(path, "qzo-s3", 7, 0.875);

  const auto runs = read_run_log(path);
  ASSERT_EQ(runs.size(), 1u);
  const LoggedRun& run = runs[0];
  const RunInfo want = info_named("qzo-s3");
  EXPECT_EQ(run.info.name, want.name);
  EXPECT_EQ(run.info.config_yaml, want.config_yaml);
  EXPECT_EQ(run.info.config_hash, want.config_hash);
  EXPECT_EQ(run.info.method, "qzo");
  EXPECT_EQ(run.info.quantizer, "rtn4-g32");
  EXPECT_EQ(run.info.task, "spam");
  EXPECT_EQ(run.info.metric, "accuracy");
  EXPECT_EQ(run.info.backend, "mpi");
  EXPECT_EQ(run.info.world_size, 2);
  EXPECT_EQ(run.info.seed, 3u);
  EXPECT_EQ(run.info.hosts, want.hosts);
  EXPECT_EQ(run.status, "finished");
  EXPECT_TRUE(run.finished());
  EXPECT_EQ(run.git_commit, source_git_commit());
  EXPECT_FALSE(run.start_time.empty());
  EXPECT_FALSE(run.end_time.empty());
  EXPECT_EQ(run.labels, nlohmann::json({{"seed", "3"}}));
  EXPECT_EQ(run.summary, summary_with_final(0.875));

  ASSERT_EQ(run.steps.size(), 7u);
  for (int i = 0; i < 7; ++i) {
    const StepRecord want_step = step_number(i);
    EXPECT_EQ(run.steps.step[i], want_step.step);
    EXPECT_EQ(run.steps.perturbation[i], want_step.perturbation);
    EXPECT_EQ(run.steps.loss_plus[i], want_step.loss_plus);
    EXPECT_EQ(run.steps.loss_minus[i], want_step.loss_minus);
    EXPECT_EQ(run.steps.proj_grad_raw[i], want_step.proj_grad_raw);
    EXPECT_EQ(run.steps.proj_grad_clipped[i], want_step.proj_grad_clipped);
    EXPECT_EQ(run.steps.clipped[i], want_step.clipped ? 1 : 0);
    EXPECT_EQ(run.steps.lr[i], want_step.lr);
    EXPECT_EQ(run.steps.tokens[i], want_step.tokens);
    EXPECT_EQ(run.steps.wall_s[i], want_step.wall_s);
    EXPECT_EQ(run.steps.skipped_steps[i], want_step.skipped_steps);
  }
  ASSERT_EQ(run.evals.size(), 2u);
  EXPECT_EQ(run.evals[0].split, "zero_shot");
  EXPECT_EQ(run.evals[1].step, 7);
  EXPECT_EQ(run.evals[1].split, "eval");
  EXPECT_EQ(run.evals[1].metric, "accuracy");
  EXPECT_EQ(run.evals[1].value, 0.875);
}

TEST(Hdf5Log, RunsAppendToAFileAfterItIsReopened) {
  TempDir dir("qzo_h5");
  const std::string path = dir.file("sweep.h5");
  write_finished_run(path, "first", 5, 0.5);
  write_finished_run(path, "second", 11, 0.75);

  const auto runs = read_run_log(path);
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(run_named(runs, "first").steps.size(), 5u);
  EXPECT_EQ(run_named(runs, "first").summary["final"], 0.5);
  EXPECT_EQ(run_named(runs, "second").steps.size(), 11u);
  EXPECT_EQ(run_named(runs, "second").steps.step.back(), 10);
}

TEST(Hdf5Log, BeginningARunAgainReplacesOnlyThatRun) {
  TempDir dir("qzo_h5");
  const std::string path = dir.file("sweep.h5");
  write_finished_run(path, "kept", 4, 0.5);
  {
    Hdf5RunLog log(path, 2);
    log.begin(info_named("retried"));
    for (int i = 0; i < 9; ++i) log.step(step_number(i));
    log.finish({}, "failed: out of memory");
  }
  EXPECT_EQ(run_named(read_run_log(path), "retried").status, "failed: out of memory");
  write_finished_run(path, "retried", 3, 0.625);

  const auto runs = read_run_log(path);
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(run_named(runs, "retried").steps.size(), 3u);
  EXPECT_TRUE(run_named(runs, "retried").finished());
  EXPECT_EQ(run_named(runs, "kept").steps.size(), 4u);
}

// Forks a writer that logs steps forever, flushing every 5; it reports through a pipe once
// `flushed` steps are on disk, and the parent kills it with SIGKILL.
void kill_writer_after(const std::string& path, int flushed) {
  int pipe_fds[2];
  ASSERT_EQ(pipe(pipe_fds), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(pipe_fds[0]);
    try {
      Hdf5RunLog log(path, 5);
      log.begin(info_named("killed"));
      log.eval({0, "zero_shot", "accuracy", 0.744});
      for (int64_t i = 0;; ++i) {
        log.step(step_number(i));
        if (i + 1 == flushed && write(pipe_fds[1], "x", 1) != 1) _exit(2);
        if (i + 1 >= flushed) usleep(1000);
      }
    } catch (...) {
      _exit(3);
    }
  }
  close(pipe_fds[1]);
  char byte = 0;
  const ssize_t got = read(pipe_fds[0], &byte, 1);
  close(pipe_fds[0]);
  kill(child, SIGKILL);
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_EQ(got, 1) << "the writer died before flushing " << flushed << " steps";
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

TEST(Hdf5Log, WriterKilledMidRunLeavesEveryFlushedStepReadable) {
  TempDir dir("qzo_h5");
  const std::string path = dir.file("sweep.h5");
  write_finished_run(path, "done", 4, 0.5);
  kill_writer_after(path, 25);

  const auto runs = read_run_log(path);
  ASSERT_EQ(runs.size(), 2u);
  const LoggedRun& killed = run_named(runs, "killed");
  EXPECT_EQ(killed.status, "running");
  EXPECT_FALSE(killed.finished());
  ASSERT_GE(killed.steps.size(), 25u);
  for (size_t i = 0; i < killed.steps.size(); ++i) {
    EXPECT_EQ(killed.steps.step[i], static_cast<int64_t>(i));
    EXPECT_EQ(killed.steps.loss_plus[i], step_number(i).loss_plus);
  }
  ASSERT_EQ(killed.evals.size(), 1u);
  EXPECT_EQ(killed.evals[0].value, 0.744);
  EXPECT_TRUE(run_named(runs, "done").finished());
}

TEST(Hdf5Log, WritingAfterAKilledWriterKeepsTheFinishedRuns) {
  TempDir dir("qzo_h5");
  const std::string path = dir.file("sweep.h5");
  write_finished_run(path, "done", 4, 0.5);
  kill_writer_after(path, 10);
  const auto carried = read_run_log(path);
  ASSERT_EQ(carried.size(), 2u);  // the killed run stays as it was
  EXPECT_GE(run_named(carried, "killed").steps.size(), 10u);
  write_finished_run(path, "killed", 6, 0.75);  // the rerun of the killed run replaces it

  const auto runs = read_run_log(path);
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_TRUE(run_named(runs, "killed").finished());
  EXPECT_EQ(run_named(runs, "killed").steps.size(), 6u);
  EXPECT_EQ(run_named(runs, "done").steps.size(), 4u);
  EXPECT_EQ(run_named(runs, "done").summary["final"], 0.5);
}

std::string file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Forks a writer of a whole run that the test hook SIGKILLs at `moment` inside the log.
void write_run_killed_at(const std::string& path, const std::string& name, const char* moment) {
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    setenv("QZO_TEST_KILL_AT", moment, 1);
    try {
      write_finished_run(path, name, 12, 0.9);
    } catch (...) {
      _exit(3);
    }
    _exit(0);
  }
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "the writer was not killed at " << moment;
}

void expect_intact(const LoggedRun& run, int steps, double final_metric) {
  EXPECT_TRUE(run.finished()) << run.status;
  EXPECT_EQ(run.summary, summary_with_final(final_metric));
  EXPECT_EQ(run.labels, nlohmann::json({{"seed", "3"}}));
  ASSERT_EQ(run.steps.size(), static_cast<size_t>(steps));
  for (int i = 0; i < steps; ++i) EXPECT_EQ(run.steps.proj_grad_raw[i], step_number(i).proj_grad_raw);
  ASSERT_EQ(run.evals.size(), 2u);
  EXPECT_EQ(run.evals[1].value, final_metric);
}

// Run B's writer is SIGKILLed midway through its begin metadata, after writing the index but
// before moving it into place, and midway through its finish metadata: run A, finished
// before, is read back intact, its file byte-identical; B reads as absent or unfinished (after
// a kill at finish with every row it logged), and rerunning B replaces it.
TEST(Hdf5Log, AKillWhileWritingOneRunNeverDamagesAnother) {
  for (const char* moment : {"begin", "index", "finish"}) {
    SCOPED_TRACE(moment);
    TempDir dir("qzo_h5");
    const std::string path = dir.file("sweep.h5");
    write_sweep_info(path, "s", "s.yaml", "grid: {}");
    write_finished_run(path, "A", 7, 0.875);
    const std::string a_file = h5::run_file(path, "A"), a_before = file_bytes(a_file);
    ASSERT_FALSE(a_before.empty());

    write_run_killed_at(path, "B", moment);
    EXPECT_EQ(file_bytes(a_file), a_before);  // B's writer never wrote A's file
    const auto after_kill = read_run_log(path);
    expect_intact(run_named(after_kill, "A"), 7, 0.875);
    if (std::string(moment) == "begin") {
      EXPECT_EQ(after_kill.size(), 1u);  // B never began: its half-written file is not in place
    } else {
      ASSERT_EQ(after_kill.size(), 2u);
      const LoggedRun& b = run_named(after_kill, "B");
      EXPECT_EQ(b.status, "running");
      EXPECT_EQ(b.steps.size(), std::string(moment) == "finish" ? 12u : 0u);
    }

    write_finished_run(path, "B", 5, 0.5);  // the sweep's rerun of B
    const auto rerun = read_run_log(path);
    ASSERT_EQ(rerun.size(), 2u);
    expect_intact(run_named(rerun, "A"), 7, 0.875);
    expect_intact(run_named(rerun, "B"), 5, 0.5);
    EXPECT_EQ(file_bytes(a_file), a_before);
  }
}

// sync() puts steps still buffered (flush_every not reached) on disk: a writer killed right
// after it leaves all of them readable.
TEST(Hdf5Log, SyncPutsEveryStepLoggedSoFarOnDisk) {
  TempDir dir("qzo_h5");
  const std::string path = dir.file("sweep.h5");
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    try {
      Hdf5RunLog log(path, 1000);
      log.begin(info_named("synced"));
      for (int64_t i = 0; i < 7; ++i) log.step(step_number(i));
      log.sync();
    } catch (...) {
      _exit(3);
    }
    raise(SIGKILL);
  }
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  const auto runs = read_run_log(path);
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].steps.step, (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6}));
}

// A log in the single-file layout (every run a group of one file, as before per-run files)
// reads as before; the next run written to it moves each run into a file of its own first.
TEST(Hdf5Log, ASingleFileLogFromBeforePerRunFilesIsReadAndSplitOnTheNextRun) {
  TempDir dir("qzo_h5");
  const std::string scratch = dir.file("scratch.h5"), path = dir.file("old.h5");
  write_finished_run(scratch, "first", 5, 0.5);
  kill_writer_after(scratch, 10);  // leaves run "killed" as a killed SWMR writer does
  {
    const H5::H5File old = h5::create_file(path);
    h5::write_attr(old.createGroup("sweep"), "name", std::string("old"));
    const H5::Group runs = old.createGroup("runs");
    for (const char* name : {"first", "killed"}) {
      const H5::H5File one = h5::open_for_reading(h5::run_file(scratch, name));
      h5::copy_group(one.openGroup("runs").openGroup(name), runs.createGroup(name));
    }
  }
  ASSERT_TRUE(h5::is_single_file_log(path));
  const auto before = read_run_log(path);
  ASSERT_EQ(before.size(), 2u);
  EXPECT_EQ(run_named(before, "first").summary, summary_with_final(0.5));
  EXPECT_GE(run_named(before, "killed").steps.size(), 10u);

  write_finished_run(path, "second", 3, 0.75);
  EXPECT_FALSE(h5::is_single_file_log(path));
  EXPECT_TRUE(fs::exists(h5::run_file(path, "first")));
  const auto runs = read_run_log(path);
  ASSERT_EQ(runs.size(), 3u);
  expect_intact(run_named(runs, "first"), 5, 0.5);
  expect_intact(run_named(runs, "second"), 3, 0.75);
  EXPECT_EQ(run_named(runs, "killed").status, "running");
  EXPECT_GE(run_named(runs, "killed").steps.size(), 10u);
}

// A run resumed from a checkpoint taken before step `resume_step` continues its group: the
// rows logged before the checkpoint stay, those after it (lost work) are dropped.
void resume_and_finish(const std::string& path, int64_t resume_step, int64_t steps) {
  Hdf5RunLog log(path, 4);
  RunInfo info = info_named("killed");
  info.resume_step = resume_step;
  log.begin(info);
  log.eval({0, "zero_shot", "accuracy", 0.744});
  for (int64_t i = resume_step; i < steps; ++i) log.step(step_number(i));
  log.eval({steps, "eval", "accuracy", 0.8});
  log.finish(summary_with_final(0.8), "finished");
}

TEST(Hdf5Log, AResumedRunKeepsTheRowsLoggedBeforeItsCheckpoint) {
  TempDir dir("qzo_h5");
  const std::string path = dir.file("sweep.h5");
  {
    Hdf5RunLog log(path, 3);
    log.begin(info_named("killed"));
    log.eval({0, "zero_shot", "accuracy", 0.744});
    log.eval({0, "dev", "accuracy", 0.75});
    for (int64_t i = 0; i < 17; ++i) {
      log.step(step_number(i));
      if ((i + 1) % 5 == 0) log.eval({i + 1, "dev", "accuracy", 0.75 + 0.01 * double(i + 1)});
    }
    log.finish({}, "failed: node lost");
  }
  resume_and_finish(path, 10, 20);

  const auto runs = read_run_log(path);
  const LoggedRun& run = run_named(runs, "killed");
  EXPECT_TRUE(run.finished());
  ASSERT_EQ(run.steps.size(), 20u);
  for (size_t i = 0; i < run.steps.size(); ++i) {
    EXPECT_EQ(run.steps.step[i], static_cast<int64_t>(i));
    EXPECT_EQ(run.steps.loss_plus[i], step_number(static_cast<int64_t>(i)).loss_plus);
  }
  std::vector<std::string> evals;
  for (const auto& e : run.evals) evals.push_back(e.split + "@" + std::to_string(e.step));
  EXPECT_EQ(evals, (std::vector<std::string>{"dev@0", "dev@5", "dev@10", "zero_shot@0", "eval@20"}));
}

TEST(Hdf5Log, ARunResumedAfterAKilledWriterContinuesFromTheFlushedRows) {
  TempDir dir("qzo_h5");
  const std::string path = dir.file("sweep.h5");
  kill_writer_after(path, 25);
  resume_and_finish(path, 20, 30);

  const auto runs = read_run_log(path);
  const LoggedRun& run = run_named(runs, "killed");
  EXPECT_TRUE(run.finished());
  ASSERT_EQ(run.steps.size(), 30u);
  for (size_t i = 0; i < run.steps.size(); ++i) EXPECT_EQ(run.steps.step[i], static_cast<int64_t>(i));
}

TEST(Hdf5Log, ASecondWriterOfALiveLogIsRefusedAndTheFirstKeepsWriting) {
  TempDir dir("qzo_h5");
  const std::string path = dir.file("sweep.h5");
  Hdf5RunLog first(path, 1);
  first.begin(info_named("first"));
  first.step(step_number(0));
  Hdf5RunLog second(path, 1);
  const std::string message = error_of([&] { second.begin(info_named("second")); });
  EXPECT_EQ(message, path + ": another process is writing this run log (it holds " + path +
                         ".lock); wait for it to finish or write to another file");
  EXPECT_THROW(write_sweep_info(path, "s", "s.yaml", "grid: {}"), Error);
  first.step(step_number(1));
  first.finish(summary_with_final(0.5), "finished");

  const auto runs = read_run_log(path);
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].steps.size(), 2u);
  write_sweep_info(path, "s", "s.yaml", "grid: {}");  // free again once the first finished
}

TEST(Hdf5Log, ReadingAFileThatIsNotHdf5NamesIt) {
  TempDir dir("qzo_h5");
  const std::string path = dir.file("notes.h5");
  std::ofstream(path) << "not hdf5\n";
  try {
    read_run_log(path);
    FAIL() << "expected qzo::Error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), path + ": not an HDF5 file");
  }
  EXPECT_THROW(Hdf5RunLog(path).begin(info_named("x")), Error);
}

TEST(Hdf5Log, GitCommitFollowsBranchRefsAndPackedRefs) {
  TempDir dir("qzo_h5");
  const std::string hash_a(40, 'a'), hash_b = "0123456789abcdef0123456789abcdef01234567";
  fs::create_directories(dir.file(".git/refs/heads"));
  std::ofstream(dir.file(".git/HEAD")) << "ref: refs/heads/main\n";
  std::ofstream(dir.file(".git/packed-refs")) << "# pack-refs with: peeled\n" << hash_b << " refs/heads/main\n";
  EXPECT_EQ(source_git_commit(dir.file("")), hash_b);
  std::ofstream(dir.file(".git/refs/heads/main")) << hash_a << "\n";
  EXPECT_EQ(source_git_commit(dir.file("")), hash_a);
  std::ofstream(dir.file(".git/HEAD")) << hash_b << "\n";
  EXPECT_EQ(source_git_commit(dir.file("")), hash_b);
  fs::remove_all(dir.file(".git"));
  EXPECT_EQ(source_git_commit(dir.file("")), "unknown");
}

}  // namespace
}  // namespace qzo
