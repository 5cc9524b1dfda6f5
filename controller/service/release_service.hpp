#pragma once
// The release ledger (SPEC §8): every deploy stage that starts records a
// release R-<n> (environment, run, commit, strategy, the release it
// replaces, the GMUD that allowed it) before its job is handed out; the
// release ends with its stage. The API lists and shows releases, and steers
// them: promote or abort a canary in progress, roll back the current
// release (its rollback steps at its commit, as a run).
//
// Depends on the engine, the store, the audit log, the event sink and the
// run service (a rollback is a run); nothing depends back on it but the
// gate service, which opens a stage's release gate through begin().
// Threading: the loop thread.

#include <cstdint>
#include <string>
#include <variant>

#include "auth.hpp"
#include "gantry/net/http_server.hpp"
#include "service/audit_log.hpp"
#include "service/engine.hpp"
#include "service/run_service.hpp"

namespace gantry::controller {

class ReleaseService {
 public:
  ReleaseService(Engine& engine, Store& store, AuditLog& audit, EventSink& events)
      : engine_(engine), store_(store), audit_(audit), events_(events) {}

  // The stage's last gate: records R-<n> (or finds it after a restart) and
  // opens the gate with RELEASE_ID and PREVIOUS_RELEASE for its steps. On a
  // store failure the gate stays shut and the error says why.
  [[nodiscard]] Status begin(const GateRequest& g);
  void stage_ended(const RunState& run, int record);  // a deploy stage ended
  void run_ended(const RunRecord& run);               // a rollback run ended

  // Only releases of repositories `who` may read (SPEC §9); another's is "no release".
  net::Response list(const net::Request& req, const Principal& who);
  net::Response show(const std::string& id, const Principal& who);
  // POST /api/v1/releases/R-n/rollback: R's rollback steps at R's commit.
  net::Response rollback(const std::string& id, const net::Request& req, const Principal& who);
  // POST /api/v1/releases/R-n/promote | abort: a canary goes on past its
  // pause, or rolls back now.
  net::Response steer(const std::string& id, const net::Request& req, const Principal& who,
                      bool promote);

  std::string progress(const ReleaseRecord& r) const;  // "waiting: canary at 25%: ..."

 private:
  // What every action on a release checks first: the permission (403,
  // audited), the release (404), a body holding only a comment (400).
  struct Action {
    ReleaseRecord release;
    std::string name, comment;
  };
  std::variant<Action, net::Response> checked_action(const std::string& text,
                                                     const net::Request& req, const Principal& who,
                                                     Permission permission,
                                                     const std::string& action,
                                                     const std::string& phrase);
  void emit(const ReleaseRecord& r) { events_.release(r, progress(r)); }
  // "R-3" (or "3") from the store: NotFound, or the store's failure.
  Result<ReleaseRecord> find(const std::string& text);

  Engine& engine_;
  Store& store_;
  AuditLog& audit_;
  EventSink& events_;
};

}  // namespace gantry::controller
