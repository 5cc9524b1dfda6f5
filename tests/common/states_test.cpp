#include "gantry/common/states.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace gantry;

namespace {

// Every value of each enum maps to its word and back; the words are the ones
// the store's columns, the API and the CLI have always used.
template <typename E, typename Parse>
std::string words_of(std::initializer_list<E> values, Parse parse) {
  std::string out;
  for (E v : values) {
    std::string_view word = to_string(v);
    REQUIRE(parse(word) == v);
    out += std::string(word) + "|";
  }
  return out;
}

}  // namespace

TEST_CASE("each state has one word, and parses back", "[states]") {
  using R = RunStatus;
  CHECK(words_of({R::Queued, R::Waiting, R::Running, R::Succeeded, R::Failed, R::Unstable,
                  R::Aborted, R::Skipped},
                 parse_run_status) ==
        "queued|waiting|running|succeeded|failed|unstable|aborted|skipped|");
  using A = ApprovalStatus;
  CHECK(words_of({A::Pending, A::Approved, A::Rejected, A::Expired, A::Cancelled},
                 parse_approval_status) == "pending|approved|rejected|expired|cancelled|");
  using S = ReleaseStatus;
  CHECK(words_of({S::InProgress, S::Succeeded, S::Failed, S::RolledBack}, parse_release_status) ==
        "in_progress|succeeded|failed|rolled_back|");
  using G = GateKind;
  CHECK(words_of({G::Gmud, G::Input, G::Release}, parse_gate_kind) == "gmud|input|release|");
  using P = CanaryPhase;
  CHECK(words_of({P::None, P::Steps, P::Pause, P::Promote, P::Inconclusive, P::Analysis,
                  P::Rollback, P::Post, P::Done},
                 parse_canary_phase) ==
        "|steps|pause|promote|inconclusive|analysis|rollback|post|done|");
}

TEST_CASE("an unknown word is no state", "[states]") {
  CHECK_FALSE(parse_run_status("Running"));
  CHECK_FALSE(parse_run_status(""));
  CHECK_FALSE(parse_approval_status("approve"));
  CHECK_FALSE(parse_release_status("in progress"));
  CHECK_FALSE(parse_gate_kind("GMUD"));
  CHECK_FALSE(parse_canary_phase("paused"));
}

TEST_CASE("finished, success and job phases", "[states]") {
  CHECK_FALSE(is_finished(RunStatus::Queued));
  CHECK_FALSE(is_finished(RunStatus::Waiting));
  CHECK_FALSE(is_finished(RunStatus::Running));
  CHECK(is_finished(RunStatus::Skipped));
  CHECK(is_finished(RunStatus::Aborted));
  CHECK(is_success(RunStatus::Unstable));
  CHECK_FALSE(is_success(RunStatus::Failed));
  CHECK(is_decided(ApprovalStatus::Expired));
  CHECK_FALSE(is_decided(ApprovalStatus::Pending));
  CHECK(is_job_phase(CanaryPhase::Rollback));
  CHECK_FALSE(is_job_phase(CanaryPhase::Pause));
  CHECK_FALSE(is_job_phase(CanaryPhase::None));
}
