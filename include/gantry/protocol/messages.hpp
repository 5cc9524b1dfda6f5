#pragma once
// The controller <-> agent protocol (docs/protocol.md): one WebSocket per
// agent process at /api/v1/agent, opened by the agent with its Bearer token.
// Control messages are JSON text frames {"t": TYPE, ...}; log chunks are
// binary frames: a 4-byte big-endian header length, a JSON LogChunk header,
// then the raw bytes. These are plain structs; codec.hpp turns them into
// frames and back (protocol_json.cpp), refusing anything malformed with a
// message rather than throwing.
//
// Every job-scoped message carries (job_id, epoch). The controller bumps the
// epoch each time it hands a job out again, and refuses messages with any
// other epoch ("stale_epoch"); an agent that gets that stops the job. Plain
// values, no threading concerns.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace gantry::protocol {

inline constexpr int kVersion = 1;
inline constexpr size_t kMaxTextFrame = size_t{1} << 20;  // JSON control messages
inline constexpr size_t kMaxChunk = size_t{64} * 1024;    // log payload per binary frame
inline constexpr uint64_t kLogLimit = uint64_t{1} << 30;  // 1 GiB per job attempt

// ---- agent -> controller -------------------------------------------------

struct ResumeJob {
  std::string job_id;
  uint64_t epoch = 0;
  uint64_t spooled_bytes = 0;
  bool finished = false;  // the job ended while the controller was away
};

struct Hello {
  std::string agent_id;     // persisted in the agent's work dir
  std::string instance_id;  // new per process start
  std::string name;
  std::vector<std::string> labels;
  int executors = 1;
  std::string version;
  std::vector<ResumeJob> resume;
};

struct JobRef {
  std::string job_id;
  uint64_t epoch = 0;
};

struct Heartbeat {
  std::vector<JobRef> jobs;
};

struct Accept {
  std::string job_id;
  uint64_t epoch = 0;
};

// A step started or ended inside a job: for live progress and the stored log.
struct StepEvent {
  std::string job_id;
  uint64_t epoch = 0;
  std::string step;   // "sh", "echo", ...
  std::string state;  // "started" | "succeeded" | "failed"
};

struct TestCounts {
  int64_t total = 0;
  int64_t failed = 0;
  int64_t skipped = 0;
};

// Result names as Jenkins spells them: SUCCESS, UNSTABLE, FAILURE, ABORTED.
struct Finish {
  std::string job_id;
  uint64_t epoch = 0;
  std::string result;
  std::string reason;  // "exit code 2", "timeout after 5s", "fenced", ...
  uint64_t log_bytes = 0;
  uint64_t dropped_bytes = 0;  // past the log cap
  TestCounts tests;
  // A canary analysis that failed for want of samples (compareMetrics'
  // minSamples), not on the evidence: `inconclusive 'pause'` waits for a human.
  bool inconclusive = false;
  // The agent stopped the job itself because it could not renew the lease
  // (no heartbeat ack for 3/4 of it): the attempt was lost, not cancelled,
  // and the controller may retry it.
  bool fenced = false;
  // What the job's Groovy left for the run's later jobs: `env.X = ...`
  // assignments, the script variables it changed (JSON), and
  // currentBuild.description / displayName when set.
  std::map<std::string, std::string> env_changes;
  std::string script_state;
  std::string description;
  std::string display_name;
};

// Header of a binary log frame; the payload follows in the same frame.
struct LogChunk {
  std::string job_id;
  uint64_t epoch = 0;
  uint64_t offset = 0;  // byte offset of the payload in the job's log
};

// A `mail`, `emailext` or `slackSend` step asks the controller to send through its
// notification channels (docs/notifications.md). Not a WebSocket frame: the job's runner POSTs
// it to /api/v1/agent/jobs/JOB/notify?epoch=E (with the agent token and the attempt's job
// token, like an `input` step's question) and gets a NotifyReply back. The same (job, epoch,
// seq) asked again reads how that message fared instead of sending it twice.
struct Notify {
  std::string job_id;
  uint64_t epoch = 0;
  uint64_t seq = 0;  // the step's number within the job attempt, from 1
  std::string kind;  // "mail" | "slack"
  // mail: to, cc, bcc, from, replyTo, subject, body, mimeType, charset, recipientProviders
  // (comma-separated: developers, culprits, requestor), channel (a channel's name);
  // slack: channel (a Slack channel), color, message, notifier (a channel's name).
  std::map<std::string, std::string> fields;
};

struct NotifyReply {
  // queued (ask again) | sent | skipped (nobody to send to) | failed (after its retries) |
  // refused (never queued: no such channel, a bad field)
  std::string status;
  std::string message;
};

// ---- controller -> agent -------------------------------------------------

struct ResumeVerdict {
  std::string job_id;
  uint64_t epoch = 0;
  std::string verdict;     // "continue" | "abort"
  uint64_t committed = 0;  // log bytes the controller holds
  bool cancel = false;     // a cancel issued while the agent was away
};

struct Welcome {
  std::string session_id;
  int64_t heartbeat_ms = 2000;
  int64_t lease_ttl_ms = 30000;
  std::vector<ResumeVerdict> resume;
  // The leader's term (controllers sharing PostgreSQL; 0 for one controller on SQLite): an agent
  // keeps the highest it has seen and leaves a controller that welcomes it with a lower one.
  int64_t term = 0;
};

// Everything an agent needs to run one stage (or the pipeline's post
// section) of a run. The agent parses `pipeline_source` itself and finds the
// stage by `stage_id` (the plan id, "Test / Unit"), so steps travel as the
// source the team wrote, not as a second encoding.
struct JobSpec {
  std::string run_id;
  int64_t run_number = 0;
  std::string job_name;  // the repository or pipeline name: JOB_NAME
  std::string stage_id;  // empty: the pipeline-level post section
  std::string stage_name;
  int attempt = 1;
  std::string pipeline_source;
  std::string pipeline_format;  // "jenkinsfile" | "yaml"
  std::string repo_url;         // empty: no checkout (gantry run uses the cwd)
  std::string commit;
  std::string workspace;                   // workspace key; same key = same directory on one agent
  std::map<std::string, std::string> env;  // BUILD_ID, params, environment{}, axes
  std::map<std::string, std::string> secrets;      // env name -> value, masked in logs
  std::map<std::string, std::string> credentials;  // credentials id -> value (withCredentials)
  std::string current_result;                      // run result so far (for post and currentBuild)
  std::string previous_result;  // the previous run's result, for changed/fixed/regression
  int64_t timeout_ms = 0;       // 0: none
  int64_t cancel_grace_ms = 10000;
  bool skip_checkout = false;
  // What part of the stage the job runs. "": its steps, then its post.
  // A canary deploy runs in phases, each a job of its own: "canary" (the
  // steps, at CANARY_WEIGHT), "analysis" (the canary's analysis steps),
  // "rollback" (the deploy's rollback steps; also gantry rollback R), and
  // "post" (the stage's post blocks once the canary ended, judged on
  // current_result).
  std::string mode;
  // The Groovy variables earlier jobs of the run set (JSON, groovy.hpp's
  // encode_variables); the job's interpreter starts from them. And what they
  // set currentBuild.description and displayName to.
  std::string script_state;
  std::string description;
  std::string display_name;
  // `environment` values only Groovy on the agent can compute (sh(...).trim(),
  // tool, a helper method, readFile): "NAME LINE:COL" of each, in order; the
  // agent finds them in the pipeline by the position of their value.
  std::vector<std::string> groovy_env;
  // The run's shared libraries, pinned to a commit each (pipelines/libraries.hpp's
  // JSON, with their files); empty when the pipeline uses none.
  std::string libraries;
  // `tools { maven 'M3' }`: "TYPE:NAME" each; the agent puts their homes
  // (its config's `tools:`) on PATH and sets JAVA_HOME and the like.
  std::vector<std::string> tools;
  // The run's first job: the output of the code around `pipeline { }` (which
  // every job runs again, quietly) is logged here, once per run, as Jenkins
  // logs it once.
  bool log_prelude = false;
  // A private repository (docs/forges.md): what the agent's checkout of repo_url uses, in
  // memory, for that fetch only (an SSH key, a token or user:password; known_hosts; CAs).
  // Never written to the workspace nor given to a step.
  std::string checkout_secret, known_hosts, git_ca;
};

struct Assign {
  std::string job_id;
  uint64_t epoch = 0;
  JobSpec spec;
  // This attempt's own credential for /api/v1/agent/jobs/JOB/... (artifacts, stash, input),
  // sent with the agent's token as X-Gantry-Job-Token. Set by the controller's gateway as the
  // message leaves; never given to the job's steps.
  std::string job_token;
};

struct LogAck {
  std::string job_id;
  uint64_t epoch = 0;
  uint64_t committed = 0;
};

struct Cancel {
  std::string job_id;
  uint64_t epoch = 0;
  std::string reason;
  int64_t grace_ms = 10000;
};

struct FinishAck {
  std::string job_id;
  uint64_t epoch = 0;
};

// A refusal: "stale_epoch" (stop the job), "log_gap" (resend from
// `expected`), "bad_message", "unknown_job".
struct Nack {
  std::string job_id;
  uint64_t epoch = 0;
  std::string code;
  std::string message;
  uint64_t expected = 0;
};

struct HeartbeatAck {};

using AgentMessage = std::variant<Hello, Heartbeat, Accept, StepEvent, Finish>;
using ControllerMessage =
    std::variant<Welcome, Assign, LogAck, Cancel, FinishAck, Nack, HeartbeatAck>;

}  // namespace gantry::protocol
