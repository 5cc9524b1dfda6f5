#pragma once
// What the fault suite's cases share: a seeded source of fault points, the
// deterministic log stream whose bytes a case can regenerate, and waiting.
//
// Every case draws its fault points (when to kill, how long to cut, ...)
// from a Seed. The seed is random unless GANTRY_FAULT_SEED is set, and it is
// printed first, and attached to every failed assertion, so a failure can be
// replayed:   GANTRY_FAULT_SEED=1234 build/tests/fault_tests "case name"
// `make soak` runs each case 20 times in a row, each with its own seed.

#include <signal.h>

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <random>
#include <string>

#include "../e2e/harness.hpp"
#include "fault_proxy.hpp"

namespace gantry::fault {

// What every case uses from the e2e harness.
using e2e::Child;
using e2e::CliResult;
using e2e::Cluster;
using e2e::HttpResult;
using e2e::json;
using e2e::now_ms;
using e2e::process_alive;
using e2e::read_file;
using e2e::sha256;
using e2e::stage_of;

class Seed {
 public:
  Seed();
  uint64_t value() const { return value_; }
  int64_t uniform(int64_t lo, int64_t hi);  // inclusive
  std::chrono::milliseconds ms(int64_t lo, int64_t hi) {
    return std::chrono::milliseconds(uniform(lo, hi));
  }

 private:
  uint64_t value_;
  std::mt19937_64 rng_;
};

// The seed is part of every failure's message.
#define FAULT_SEED(name)      \
  ::gantry::fault::Seed name; \
  INFO("GANTRY_FAULT_SEED=" << name.value())

// 52 bytes: with a 10-digit number, a space and a newline, each line is 64 bytes.
inline const std::string kLineText = "payload-abcdefghijklmnopqrstuvwxyz-0123456789-ABCDEF";

// A shell command printing `chunks` blocks of `lines` numbered 64-byte lines,
// pausing `pause` seconds between blocks, so that the stream takes a while.
std::string stream_command(int chunks, int lines, const std::string& pause);
// The bytes stream_command() prints.
std::string stream_bytes(int chunks, int lines);
// A one-stage pipeline 'Stream' running `command`.
std::string stream_pipeline(const std::string& command);
// The stored log of the Stream stage: the runner's header lines, then the output.
std::string expected_log(const json& run, const std::string& command, const std::string& output);

// Polls `pred` every `every` until it holds; false after `timeout`.
bool wait_for(const std::function<bool()>& pred, std::chrono::milliseconds timeout,
              std::chrono::milliseconds every = std::chrono::milliseconds(20));

// Kills the process group whose leader's pid is in `pid_file` (what a step
// left behind when its agent was killed: the step's shell leads its group).
void kill_group_in(const std::string& pid_file);

// How many times `needle` occurs in `text`.
size_t count_of(const std::string& text, const std::string& needle);

// A stage 'Long' that notes each start in `starts`, writes its shell's pid
// to `pid_file`, sleeps a minute and would then print "never"; started and
// running once the constructor returns. `options`: the pipeline's options.
struct LongStep {
  std::string starts, pid_file;
  int64_t run = 0;
  explicit LongStep(Cluster& c, const std::string& options = "");
  pid_t pid() const;
};

// A controller (`config`: extra controller config) and one agent "A" that
// reaches it through a FaultProxy; connected once constructed.
struct ProxiedCluster {
  explicit ProxiedCluster(const std::string& config = "");
  Cluster c;
  std::unique_ptr<FaultProxy> proxy;
};

// The attempts count of one stage of a run, as the API says now (0: none yet).
int attempts_of(Cluster& c, int64_t run, const std::string& stage);

}  // namespace gantry::fault
