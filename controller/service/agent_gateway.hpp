#pragma once
// The agent gateway: one WebSocket per agent process at /api/v1/agent, and
// the agents' file endpoint /api/v1/agent/jobs/JOB/{artifacts,stash,tests,reports,issues,input}.
// Text frames are protocol messages handed to the engine's scheduler;
// binary frames are log chunks for the log ingest. It is the engine's
// outbox (messages to agents go through sessions here).
//
// Identity (SPEC §9): an agent token is a pool. A hello that claims an id
// or a name another token registered, a label outside its pool, or one
// agent more than its max_agents is refused (close 4403 with the reason,
// audited) and never supersedes a live agent.
//
// Storage failure is never success (SPEC §11): a finish whose outcome could
// not be stored is answered `unavailable` (the agent keeps its outbox and
// sends it again), never acknowledged; log chunks are acknowledged only
// when durable. Uploads are admitted from the request head, before a byte
// of the body is read: only for a live job of the asking agent.
//
// Depends on the engine, the store, the event sink, the audit log, the
// authenticator and the gate service (`input` steps). Sessions talk to a
// net::WsConnection, an interface: tests drive the gateway with a fake one,
// without sockets or a loop. Threading: the loop thread.

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "auth.hpp"
#include "gantry/net/http_server.hpp"
#include "service/audit_log.hpp"
#include "service/engine.hpp"
#include "service/log_ingest.hpp"

namespace gantry::controller {

// Shared by the gateway's upload handlers (agent_gateway.cpp, agent_reports.cpp): a relative
// path inside a directory (not absolute, no ".."); an upload's body put at `dest` (its
// directory made), the spooled file moved there or the bytes in memory written.
bool safe_relative(const std::string& path);
std::error_code keep_body(const net::Request& req, const std::filesystem::path& dest);

class GateService;
class CoordinationService;

class AgentGateway final : public AgentOutbox {
 public:
  AgentGateway(Engine& engine, Store& store, EventSink& events, AuditLog& audit,
               const Authenticator& auth, GateService& gates, Defer defer);

  // The WebSocket upgrade: a Response refuses it, nullopt accepts it.
  std::optional<net::Response> accept(const net::Request& req,
                                      std::shared_ptr<net::WsConnection> conn,
                                      net::WsHandlers& handlers);
  // Before the body of /api/v1/agent/jobs/... is read: refuses what is not
  // for a live job held by the asking agent at that epoch.
  std::optional<net::Response> admit_upload(const net::Request& head) const;
  // /api/v1/agent/jobs/JOB/KIND with an agent token (routes checked it).
  net::Response files(const net::Request& req, const Principal& who);

  // Each Assign leaves with its attempt's job token (auth.hpp, job_token()).
  void send(const std::string& agent_id, const protocol::ControllerMessage& m) override;
  // The key job tokens are made with (GeneratedTokens::job_key); none: every job request fails.
  void set_job_key(std::string key) { job_key_ = std::move(key); }
  // POST .../notify (a mail, emailext or slackSend step): answered by `handler` with the job's
  // run; none: 404.
  using NotifyHandler =
      std::function<net::Response(const Job& job, const RunRecord& run, const std::string& body)>;
  void set_notify(NotifyHandler handler) { notify_ = std::move(handler); }
  // POST .../build (the build step: start a downstream run, ask how it went, cancel it).
  void set_build(NotifyHandler handler) { build_ = std::move(handler); }
  // POST .../lock and .../milestone (the lock and milestone steps).
  void set_coordination(CoordinationService* coordination) { coordination_ = coordination; }
  LogIngest& logs() { return logs_; }
  size_t sessions() const { return sessions_.size(); }

 private:
  struct Session {
    std::shared_ptr<net::WsConnection> conn;
    std::string agent_id;  // set by hello
    std::string token_name;
    Principal who;  // the agent token's principal (its pool)
    bool closed = false;
  };
  // Why this hello may not have the identity it claims (SPEC §9: an agent
  // id and name belong to the token that first registered them, while that
  // token is configured; labels within the token's pool; at most
  // max_agents at once); "" when it may.
  std::string refusal(const Session& s, const protocol::Hello& hello);
  // The job is held at `epoch` by `agent_id`, connected with `who`'s token.
  bool held_by(const Job& job, uint64_t epoch, const std::string& agent_id,
               const Principal& who) const;
  // The refusal of a job request that is not for a live attempt held by the asking agent with
  // its token and that attempt's job token; nullopt when it is.
  std::optional<net::Response> check_attempt(const net::Request& req, const Job* job,
                                             const std::string& job_id,
                                             const std::optional<Principal>& who) const;
  void on_text(const std::shared_ptr<Session>& s, std::string_view text);
  void on_log(const std::shared_ptr<Session>& s, std::string_view frame);
  void on_closed(const std::shared_ptr<Session>& s);
  void hello(const std::shared_ptr<Session>& s, const protocol::Hello& hello);
  void finish(const std::shared_ptr<Session>& s, const protocol::Finish& fin);
  static void reply(Session& s, const protocol::ControllerMessage& m);
  // PUT .../tests: a junit step's cases, kept as the run's kind "tests" records.
  net::Response store_tests(const net::Request& req, const Job& job, const StageRecord& rec,
                            const Principal& who);
  static constexpr uint64_t kMaxTestReportBytes = uint64_t{32} << 20;
  static constexpr size_t kMaxTestReports = 200;
  // agent_reports.cpp (docs/reports.md). PUT .../reports?name=N&path=P: a file of a
  // publishHTML report (kind "report_file", named "N/P"); ...&index=1: its description, last
  // (kind "report", named N). PUT .../issues?name=ID: a recordIssues summary (kind "issues").
  net::Response store_report(const net::Request& req, const Job& job, const StageRecord& rec,
                             const Principal& who);
  net::Response store_issues(const net::Request& req, const Job& job, const StageRecord& rec,
                             const Principal& who);
  static constexpr size_t kMaxReportFiles = 2000;                   // per report
  static constexpr uint64_t kMaxReportBytes = uint64_t{100} << 20;  // per report
  static constexpr uint64_t kMaxIssuesBytes = uint64_t{8} << 20;    // per summary
  static constexpr size_t kMaxIssueSummaries = 100;                 // per run

  Engine& engine_;
  Store& store_;
  EventSink& events_;
  AuditLog& audit_;
  const Authenticator& auth_;
  GateService& gates_;
  LogIngest logs_;
  std::map<std::string, std::shared_ptr<Session>> sessions_;  // by agent id
  // Which token registered each agent id and name (from the agents table).
  std::map<std::string, std::string> id_owner_, name_owner_;
  bool owners_loaded_ = false;
  std::string job_key_;
  NotifyHandler notify_;
  NotifyHandler build_;
  CoordinationService* coordination_ = nullptr;
};

}  // namespace gantry::controller
