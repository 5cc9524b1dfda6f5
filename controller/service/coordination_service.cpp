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
  Scheduler& scheduler = engine_.scheduler();
  if (op == "release") {
    scheduler.release_lock(holder, now);
    (void)engine_.flush();  // a run waiting for the lock may start
    return answer({{"status", "released"}});
  }
  LockRequest want;
  want.resource = in.value("resource", "");
  want.label = in.value("label", "");
  want.quantity = in.value("quantity", int64_t{0});
  want.inverse = in.value("inverse", false);
  want.skip_if_locked = in.value("skip", false);
  if (op != "acquire" || want.resource.size() > kMaxName || want.label.size() > kMaxName)
    return error(400, "bad_request",
                 "a lock request is {op: acquire|release, block, resource or label (1 to 256 "
                 "bytes), quantity}");
  LockTable::Answer a = scheduler.acquire_lock(holder, job.run_id, want, now);
  if (!a.error.empty()) return answer({{"status", "refused"}, {"reason", a.error}});
  if (a.acquired)
    log::info(
        "locks", "lock.acquired",
        {{"resources", describe(want)}, {"run", std::to_string(job.run_id)}, {"job", job.job_id}});
  return answer({{"status", a.acquired ? "acquired"
                            : a.queued ? "waiting"
                                       : "locked"},
                 {"resource", want.resource},
                 {"resources", a.resources},
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
  const LockTable& table = engine_.scheduler().locks();
  json list = json::array();
  for (const LockTable::ResourceState& s : table.state()) {
    list.push_back({{"resource", s.name},
                    {"labels", s.labels},
                    {"declared", s.declared},
                    {"run", s.held_by_run == 0 ? json(nullptr) : json(s.held_by_run)},
                    {"holder", s.holder.empty() ? json(nullptr) : json(s.holder)},
                    {"since", s.held_by_run == 0 ? json(nullptr) : json(s.since)},
                    {"waiting", s.waiting_runs}});
  }
  auto requests = [](const std::vector<LockTable::RequestState>& all) {
    json out = json::array();
    for (const LockTable::RequestState& r : all) {
      out.push_back({{"holder", r.holder},
                     {"run", r.run_id},
                     {"wanted", r.wanted},
                     {"resources", r.resources},
                     {"quantity", r.resources.size()},
                     {"since", r.since}});
    }
    return out;
  };
  return answer({{"locks", list},
                 {"holders", requests(table.holders())},
                 {"queue", requests(table.waiters())}});
}

}  // namespace gantry::controller
