#pragma once
// The states of runs, stages, change requests, releases and deploy phases,
// and the one place their words are spelled ("running", "rolled_back").
// The words are what the store's columns, the API's JSON and the CLI read
// and write (SPEC §10); code compares the enums, never the words. Parsing
// returns nullopt for a word it does not know: callers decide what an
// unknown word means (the store logs it, the CLI shows it as it came).
// Pure functions, no state; usable from any thread.

#include <optional>
#include <string_view>

namespace gantry {

// A run's or a stage's status.
enum class RunStatus { Queued, Waiting, Running, Succeeded, Failed, Unstable, Aborted, Skipped };

// A change request's (GMUD or input gate) status.
enum class ApprovalStatus { Pending, Approved, Rejected, Expired, Cancelled };

// A release's status; also a deploy's outcome for its release.
enum class ReleaseStatus { InProgress, Succeeded, Failed, RolledBack };

// The gates a stage passes before its steps run.
enum class GateKind { Gmud, Input, Release };

// Where a deploy stage is on its way (docs/releases.md). None: not a deploy,
// or not started; its word is "".
enum class CanaryPhase {
  None,
  Steps,
  Pause,
  Promote,
  Inconclusive,
  Analysis,
  Rollback,
  Post,
  Done
};

std::string_view to_string(RunStatus s);
std::string_view to_string(ApprovalStatus s);
std::string_view to_string(ReleaseStatus s);
std::string_view to_string(GateKind k);
std::string_view to_string(CanaryPhase p);

std::optional<RunStatus> parse_run_status(std::string_view word);
std::optional<ApprovalStatus> parse_approval_status(std::string_view word);
std::optional<ReleaseStatus> parse_release_status(std::string_view word);
std::optional<GateKind> parse_gate_kind(std::string_view word);
std::optional<CanaryPhase> parse_canary_phase(std::string_view word);

// Ended, for good: succeeded, failed, unstable, aborted or skipped.
bool is_finished(RunStatus s);
// Ended the way a run counts as passing: succeeded or unstable.
bool is_success(RunStatus s);
// Decided: anything but pending.
bool is_decided(ApprovalStatus s);
// A deploy phase that is a job handed to an agent (steps, analysis,
// rollback, post), not a wait.
bool is_job_phase(CanaryPhase p);

}  // namespace gantry
