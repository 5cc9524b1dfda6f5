// Locks and milestones for the agents' steps (coordination_service.hpp).
#include "service/coordination_service.hpp"

#include <nlohmann/json.hpp>

#include "gantry/common/log.hpp"
#include "scheduler/job_board.hpp"
#include "scheduler/run_state.hpp"
#include "service/api_json.hpp"
#include "service/engine.hpp"

namespace gantry::controller {

namespace {

using nlohmann::json;

constexpr size_t kMaxName = 256;

net::Response answer(const json& body) {
  net::Response r;
  r.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
  return r;
}

}  // namespace

net::Response CoordinationService::lock(const Job& job, const std::string& body) {
  json in = json::parse(body, nullptr, false);
  if (!in.is_object()) return error(400, "bad_request", "a lock request is a JSON object");
  const std::string op = in.value("op", "");
  const int64_t block = in.value("block", int64_t{0});
  const std::string holder = job.job_id + "#" + std::to_string(block);
  const int64_t now = engine_.now();
  if (op == "release") {
    locks_.release(holder, now);
    return answer({{"status", "released"}});
  }
  const std::string resource = in.value("resource", "");
  if (op != "acquire" || resource.empty() || resource.size() > kMaxName)
    return error(400, "bad_request",
                 "a lock request is {op: acquire|release, block, resource (1 to 256 bytes)}");
  LockTable::Answer a =
      locks_.acquire(holder, job.run_id, resource, in.value("inverse", false), now);
  if (a.acquired)
    log::info("locks", "lock.acquired",
              {{"resource", resource}, {"run", std::to_string(job.run_id)}, {"job", job.job_id}});
  return answer({{"status", a.acquired ? "acquired" : "waiting"},
                 {"resource", resource},
                 {"ahead", a.ahead},
                 {"holder", a.holder}});
}

net::Response CoordinationService::milestone(const Job& job, const std::string& body) {
  json in = json::parse(body, nullptr, false);
  if (!in.is_object()) return error(400, "bad_request", "a milestone request is a JSON object");
  std::optional<int> ordinal;
  if (auto it = in.find("ordinal"); it != in.end() && it->is_number_integer()) {
    const int64_t o = it->get<int64_t>();
    if (o < 0 || o > 1000000)
      return error(400, "bad_request", "a milestone ordinal is 0 to 1000000");
    ordinal = static_cast<int>(o);
  }
  const RunState* run = engine_.scheduler().run(job.run_id);
  if (!run) return error(409, "conflict", "the run has ended");
  const RunRecord& r = run->run;
  const MilestoneTable::Verdict v = milestones_.pass(
      r.job_name, r.id, r.number, ordinal, engine_.scheduler().unfinished_runs_of(r.job_name));
  if (!v.pass) {
    log::info("milestones", "milestone.superseded",
              {{"run", std::to_string(r.id)}, {"ordinal", std::to_string(v.ordinal)}});
    return answer({{"status", "superseded"}, {"ordinal", v.ordinal}, {"reason", v.reason}});
  }
  const int64_t now = engine_.now();
  for (int64_t id : v.cancel) {
    const std::string why = "superseded by run #" + std::to_string(r.number) + " at milestone " +
                            std::to_string(v.ordinal);
    if (engine_.scheduler().cancel_run(id, why, now))
      log::info("milestones", "run.superseded",
                {{"run", std::to_string(id)}, {"by", std::to_string(r.id)}});
  }
  if (!v.cancel.empty()) (void)engine_.flush();
  return answer({{"status", "passed"}, {"ordinal", v.ordinal}, {"cancelled", v.cancel}});
}

net::Response CoordinationService::list_locks() const {
  json list = json::array();
  for (const LockTable::ResourceState& s : locks_.state()) {
    list.push_back({{"resource", s.name},
                    {"run", s.held_by_run == 0 ? json(nullptr) : json(s.held_by_run)},
                    {"since", s.held_by_run == 0 ? json(nullptr) : json(s.since)},
                    {"waiting", s.waiting_runs}});
  }
  return answer({{"locks", list}});
}

void CoordinationService::stage_ended(const RunState& run, int record) {
  if (record < 0 || static_cast<size_t>(record) >= run.stages.size()) return;
  const std::string& job_id = run.stages[static_cast<size_t>(record)].job_id;
  if (!job_id.empty()) locks_.release_job(job_id, engine_.now());
}

}  // namespace gantry::controller
