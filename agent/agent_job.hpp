#pragma once
// One job held by the agent: its spec, its state directory (spool, the
// assignment, the finish record), its runner thread, and how far its log
// has been sent and acknowledged. Owned by Agent on the loop thread; the
// runner thread touches only the spool and the runner.

#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <thread>

#include "gantry/protocol/messages.hpp"
#include "runner/job_runner.hpp"
#include "runner/spool.hpp"

namespace gantry::agent {

class HttpJobHost;

struct AgentJob {
  std::string job_id;
  uint64_t epoch = 0;
  protocol::JobSpec spec;
  std::string job_token;  // this attempt's credential for the job endpoints; memory only
  std::string dir;        // state/jobs/<job_id>
  // Its workspace: the run's (workspace/<job>-<n>), or "<that>@2", "@3"... while another job of
  // the same run uses it on this agent (parallel stages, as Jenkins' ws@2).
  std::string workspace;
  std::unique_ptr<Spool> spool;
  std::unique_ptr<HttpJobHost> host;
  std::unique_ptr<JobRunner> runner;
  std::thread thread;
  bool running = false;   // the runner thread is active
  bool finished = false;  // the outcome is known and stored in finish.json
  protocol::Finish finish;
  uint64_t sent = 0, acked = 0;
  int64_t finish_sent_at = 0;
  // The controller could not store our last sends: nothing goes before
  // retry_at (monotonic ms); the delay doubles with each refusal in a row.
  int64_t retry_at = 0, retry_delay_ms = 0;
  // The controller keeps no log bytes past this (nack log_limit); the rest
  // counts as dropped in the finish.
  uint64_t log_cap = std::numeric_limits<uint64_t>::max();
  bool dropped = false;  // the controller no longer wants it: no finish
  bool fenced = false;
  bool stopping = false;
};

}  // namespace gantry::agent
