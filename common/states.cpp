#include "gantry/common/states.hpp"

#include <array>
#include <utility>

namespace gantry {
namespace {

// One table per enum, in enum order: to_string indexes it, parse scans it.
constexpr std::array<std::string_view, 8> kRunStatus = {
    "queued", "waiting", "running", "succeeded", "failed", "unstable", "aborted", "skipped"};
constexpr std::array<std::string_view, 5> kApprovalStatus = {"pending", "approved", "rejected",
                                                             "expired", "cancelled"};
constexpr std::array<std::string_view, 4> kReleaseStatus = {"in_progress", "succeeded", "failed",
                                                            "rolled_back"};
constexpr std::array<std::string_view, 3> kGateKind = {"gmud", "input", "release"};
constexpr std::array<std::string_view, 9> kCanaryPhase = {
    "", "steps", "pause", "promote", "inconclusive", "analysis", "rollback", "post", "done"};

template <typename E, size_t N>
std::optional<E> parse(const std::array<std::string_view, N>& words, std::string_view word) {
  for (size_t i = 0; i < N; ++i)
    if (words[i] == word) return static_cast<E>(i);
  return std::nullopt;
}

}  // namespace

std::string_view to_string(RunStatus s) {
  return kRunStatus.at(static_cast<size_t>(s));
}
std::string_view to_string(ApprovalStatus s) {
  return kApprovalStatus.at(static_cast<size_t>(s));
}
std::string_view to_string(ReleaseStatus s) {
  return kReleaseStatus.at(static_cast<size_t>(s));
}
std::string_view to_string(GateKind k) {
  return kGateKind.at(static_cast<size_t>(k));
}
std::string_view to_string(CanaryPhase p) {
  return kCanaryPhase.at(static_cast<size_t>(p));
}

std::optional<RunStatus> parse_run_status(std::string_view word) {
  return parse<RunStatus>(kRunStatus, word);
}
std::optional<ApprovalStatus> parse_approval_status(std::string_view word) {
  return parse<ApprovalStatus>(kApprovalStatus, word);
}
std::optional<ReleaseStatus> parse_release_status(std::string_view word) {
  return parse<ReleaseStatus>(kReleaseStatus, word);
}
std::optional<GateKind> parse_gate_kind(std::string_view word) {
  return parse<GateKind>(kGateKind, word);
}
std::optional<CanaryPhase> parse_canary_phase(std::string_view word) {
  return parse<CanaryPhase>(kCanaryPhase, word);
}

bool is_finished(RunStatus s) {
  return s != RunStatus::Queued && s != RunStatus::Waiting && s != RunStatus::Running;
}

bool is_success(RunStatus s) {
  return s == RunStatus::Succeeded || s == RunStatus::Unstable;
}

bool is_decided(ApprovalStatus s) {
  return s != ApprovalStatus::Pending;
}

bool is_job_phase(CanaryPhase p) {
  return p == CanaryPhase::Steps || p == CanaryPhase::Analysis || p == CanaryPhase::Rollback ||
         p == CanaryPhase::Post;
}

}  // namespace gantry
