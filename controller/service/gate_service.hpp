#pragma once
// Gates (SPEC §7): the change requests of stages that wait at a gate (a
// GMUD before a deploy to a protected environment, an `input`), decided by
// the pure evaluator (gmud/gate.hpp) under the controller config's
// policies; the approvals API (list, show, approve, reject) and the
// environments' policies. A stage's last gate, its release, is handed to
// the release service. A request that could not be stored is asked again
// on the next check(): the stage waits, it neither opens nor fails.
//
// Depends on the engine, the store, the audit log, the event sink, the
// release service and (for a GMUD's commit range) the git reader. Nothing
// depends on it but the routes and the agent gateway (`input` steps).
// Threading: the loop thread.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "auth.hpp"
#include "config.hpp"
#include "gantry/git/git_cache.hpp"
#include "gmud/gate.hpp"
#include "service/approvals_json.hpp"
#include "service/audit_log.hpp"
#include "service/engine.hpp"
#include "service/release_service.hpp"

namespace gantry::controller {

class GitReader;

// What a GMUD's range counts from, and what it holds.
struct GmudRange {
  int64_t release = 0;                // the environment's current release of the repository
  std::string commit;                 // its commit ("" with no release)
  std::vector<ChangeRecord> changes;  // what ships that it has not had
  std::string unknown;                // why the range is not known in full (blocks)
  std::string refuse;                 // why the deploy is refused outright (an older commit)
};

// What judge_range needs of the request beside the mirror's answer.
struct RangeContext {
  std::string environment, repo, commit;
  int64_t max_range = 0;
};

// The range a request shows, from the mirror's answer for the commits that
// ship since `base`: unknown (with what an admin can do) when the mirror
// failed, lacks the base or found more than max_range commits; refused when
// the commit is older than the base. Pure.
GmudRange judge_range(GmudRange base, const git::UnshippedRange& r, const RangeContext& c);

class GateService {
 public:
  GateService(Engine& engine, Store& store, AuditLog& audit, EventSink& events,
              ReleaseService& releases, const Config& config)
      : engine_(engine),
        store_(store),
        audit_(audit),
        events_(events),
        releases_(releases),
        config_(config) {}
  void set_git(GitReader* git) { git_ = git; }

  // The engine's gate requests: open (or find) each stage's request, or
  // cancel those of stages that stopped waiting.
  void handle(const std::vector<GateRequest>& gates);
  // On the tick (about once a second): expiry, windows and freezes of
  // approved requests, a reloaded policy, and requests to ask again.
  void check();
  // POST /api/v1/agent/jobs/JOB/input: an `input` step asks (again).
  net::Response input_step(const Job& job, const std::string& body);

  // Only requests of repositories `who` may read (SPEC §9); another's is "no change request".
  net::Response list(const net::Request& req, const Principal& who);
  net::Response show(const std::string& id, const Principal& who);
  net::Response decide(const std::string& id, const net::Request& req, const Principal& who,
                       bool approve);
  net::Response environments();
  // Who may still decide `a`, and whether `who` may.
  Standing standing(const ApprovalRecord& a, const Principal& who) const;

 private:
  static constexpr size_t kMaxShippedBases = 100;  // releases whose commits hide from a range
  static constexpr int kMaxRetryChain = 100;

  void open_request(const GateRequest& g);
  void open_gmud(const GateRequest& g, const RunRecord& run);
  // Stores a new request for `g` with the commits it ships, and settles it
  // (a refused one is stored cancelled and fails the stage). Returns its
  // id; an error when it could not be stored.
  [[nodiscard]] Result<int64_t> create_request(const GateRequest& g, GmudRange range = {});
  std::vector<InstigatorRecord> instigators_of(const RunRecord& run);
  // The run's parameters as a request shows them: password ones masked.
  static std::map<std::string, std::string> shown_parameters(const RunState& state);
  // A newer run's request cancels the waiting ones of older runs of the
  // same repository and environment, failing their stages.
  void supersede_older(const ApprovalRecord& newer);
  // Why `a` may no longer open its gate: its environment got a newer
  // release, or its run's commit or parameters are not what it showed.
  std::string outdated(const ApprovalRecord& a) const;
  void cancel_requests(int64_t run_id, const std::string& stage_id, const std::string& reason);
  // Evaluates `a` now and acts on it: records its end, opens or fails the gate.
  // Returns the evaluation it acted on; `a` is left as recorded.
  gmud::Evaluation settle(ApprovalRecord& a);
  bool stage_running(const ApprovalRecord& a) const;
  bool stage_waiting(int64_t run_id, const std::string& stage_id) const;
  // The policy `a` is decided under: its environment's (nullopt when the
  // config no longer has it), or, for an input, its submitters.
  std::optional<gmud::Policy> policy_of(const ApprovalRecord& a) const;
  std::vector<gmud::Person> people_of(const ApprovalRecord& a) const;
  gmud::Evaluation evaluate(const ApprovalRecord& a) const;
  void show_current_quorum(ApprovalRecord& a) const;
  // "GMUD-3" (or "3") from the store: NotFound, or the store's failure.
  Result<ApprovalRecord> find(const std::string& text);
  void retry_later(const GateRequest& g, const Error& why);

  Engine& engine_;
  Store& store_;
  AuditLog& audit_;
  EventSink& events_;
  ReleaseService& releases_;
  const Config& config_;
  GitReader* git_ = nullptr;
  // Requests whose stage waits: pending, or approved and held by a window
  // or a freeze. Loaded again from the store when a restarted run asks.
  std::map<int64_t, ApprovalRecord> open_;
  std::vector<GateRequest> retry_;  // could not be stored: asked again by check()
};

}  // namespace gantry::controller
