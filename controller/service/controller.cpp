#include "service/controller.hpp"

#include <chrono>
#include <cstdio>

#include "gantry/common/log.hpp"
#include "service/git_workers.hpp"
#include "service/repo_watcher.hpp"

namespace gantry::controller {

namespace {
// Fetches and pipeline reads in parallel: a slow remote holds one of these.
constexpr int kGitThreads = 4;
}  // namespace

Controller::Controller(Config config, net::EventLoop& loop, ControllerOptions options)
    : config_(std::move(config)), loop_(loop), options_(options) {
  store_ = std::make_unique<Store>(config_.data_dir);
  retention_ = std::make_unique<Retention>(*store_, config_.retention, [this] { return now(); });
  events_ = std::make_unique<EventHub>(*store_, loop_);
  tokens_ = ensure_generated_tokens(config_.data_dir);
  build_auth();
  SchedulerOptions so;
  so.lease_ttl_ms = config_.agent_lost_after_ms;
  so.heartbeat_ms = std::min<int64_t>(options_.heartbeat_ms, config_.agent_lost_after_ms / 5);
  so.cancel_grace_ms = config_.cancel_grace_ms;
  // An offer not taken is offered again before its lease could lapse.
  so.accept_timeout_ms = std::min<int64_t>(5000, config_.agent_lost_after_ms / 2);
  for (const auto& [id, s] : config_.secrets) so.secrets[id] = s.value;
  for (const auto& [name, env] : config_.environments) so.environments[name] = env.gated;
  so.deploy_blocked = [this](const std::string& name, int64_t at) {
    auto env = config_.environments.find(name);
    if (env == config_.environments.end() || config_.open_gates) return std::vector<std::string>{};
    return gmud::time_blocks(env->second.policy, gmud::Clock(std::chrono::seconds(at / 1000)));
  };
  so.auto_promote = config_.open_gates;
  scheduler_ = std::make_unique<Scheduler>(so);
  git_ = std::make_unique<GitWorkers>(loop_, config_.data_dir + "/mirrors", kGitThreads);
  RepoWatcherHooks hooks;
  hooks.base_commit = [this](const std::string& job) { return base_commit(job); };
  hooks.start_run = [this](const RepoTrigger& t) { start_triggered(t); };
  hooks.now_ms = [this] { return now(); };
  watcher_ = std::make_unique<RepoWatcher>(config_.repositories, loop_, *git_, *store_, hooks);
}

void Controller::build_auth() {
  auth_ = Authenticator(config_);
  if (config_.users.empty()) auth_.add_user("admin", Role::Admin, sha256_hex(tokens_.admin));
  if (config_.agent_tokens.empty()) auth_.add_agent_token("default", sha256_hex(tokens_.agent));
}

void Controller::reload(const std::string& path) {
  if (path.empty()) {
    log::warn("controller", "config.reload_skipped", {{"reason", "started without --config"}});
    return;
  }
  auto loaded = load_config(path);
  if (auto* e = std::get_if<ConfigError>(&loaded)) {
    log::error("controller", "config.reload_failed", {{"error", e->message}});
    audit("controller", "config.reload_failed", path, {{"error", e->message}});
    return;
  }
  Config next = std::get<Config>(std::move(loaded));
  std::string needs_restart;
  auto differs = [&](bool changed, const char* what) {
    if (changed) needs_restart += (needs_restart.empty() ? "" : ", ") + std::string(what);
  };
  differs(next.repositories.size() != config_.repositories.size(), "repositories");
  differs(next.tls_cert != config_.tls_cert || next.tls_key != config_.tls_key, "tls");
  config_.users = std::move(next.users);
  config_.agent_tokens = std::move(next.agent_tokens);
  config_.environments = std::move(next.environments);
  config_.secrets = std::move(next.secrets);
  config_.source_sha256 = next.source_sha256;
  build_auth();
  std::map<std::string, bool> environments;
  for (const auto& [name, env] : config_.environments) environments[name] = env.gated;
  std::map<std::string, std::string> secrets;
  for (const auto& [id, s] : config_.secrets) secrets[id] = s.value;
  scheduler_->reconfigure(std::move(environments), std::move(secrets));
  std::map<std::string, std::string> details = {
      {"sha256", config_.source_sha256},
      {"users", std::to_string(config_.users.size())},
      {"environments", std::to_string(config_.environments.size())}};
  if (!needs_restart.empty()) details["needs_restart"] = needs_restart;
  audit("controller", "config.reload", path, details);
  // Waiting requests are decided under the new policies from the next tick.
  last_gate_check_ = 0;
}

Controller::~Controller() {
  stop();
}

int64_t Controller::now() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool Controller::start(std::string& error) {
  net::ServerOptions so;
  so.host = config_.listen_host;
  so.port = config_.listen_port;
  so.tls_cert = config_.tls_cert;
  so.tls_key = config_.tls_key;
  so.upload_prefixes = {"/api/v1/agent/"};
  server_ = std::make_unique<net::HttpServer>(
      loop_, so, [this](const net::Request& r) { return handle_http(r); },
      [this](const net::Request& r, std::shared_ptr<net::WsConnection> c, net::WsHandlers& h) {
        if (r.path == "/api/v1/events") return accept_events(r, std::move(c), h);
        return accept_agent(r, std::move(c), h);
      });
  if (!server_->start(error)) return false;
  // Which configuration this controller runs with, so a change to users,
  // environments or approvers shows in the audit log.
  std::map<std::string, std::string> config_details;
  if (!config_.source_sha256.empty()) config_details["sha256"] = config_.source_sha256;
  audit("controller", "config.load",
        config_.source_path.empty() ? "(defaults)" : config_.source_path, config_details);
  // Runs that were going when the controller stopped: their stages as
  // stored; running jobs wait for their agents (leases extended by a grace).
  int64_t t = now();
  for (RunRecord& run : store_->unfinished_runs()) {
    std::vector<StageRecord> stages = store_->stages(run.id);
    auto prev = store_->previous_run(run.job_name, run.id);
    std::string prev_result;
    if (prev) prev_result = result_name_for_status(prev->status);
    int64_t id = run.id;
    if (auto err = scheduler_->submit(run, stages, t, prev_result)) {
      fail_run(run, "pipeline: " + *err);
      continue;
    }
    log::info("controller", "run.recovered", {{"run", std::to_string(id)}});
  }
  flush();
  // Where this controller listens, for scripts and tests that start it on
  // port 0 (make demo, the end-to-end tests).
  {
    std::string addr =
        "http://" + config_.listen_host + ":" + std::to_string(server_->port()) + "\n";
    std::string tmp = config_.data_dir + "/controller.addr.tmp";
    if (FILE* f = std::fopen(tmp.c_str(), "w")) {
      std::fputs(addr.c_str(), f);
      std::fclose(f);
      std::rename(tmp.c_str(), (config_.data_dir + "/controller.addr").c_str());
    }
  }
  watcher_->start();
  tick_timer_ = loop_.call_every(std::chrono::milliseconds(options_.tick_ms), [this] { tick(); });
  log::info("controller", "listening",
            {{"address", config_.listen_host + ":" + std::to_string(server_->port())},
             {"data", config_.data_dir}});
  return true;
}

uint16_t Controller::port() const {
  return server_ ? server_->port() : 0;
}

void Controller::stop() {
  if (tick_timer_) loop_.cancel_timer(tick_timer_);
  tick_timer_ = 0;
  if (watcher_) watcher_->stop();
  if (events_) events_->close_all();
  if (server_) server_->stop();
  logs_.sync();
}

void Controller::tick() {
  scheduler_->tick(now());
  if (now() - last_gate_check_ >= 1000) {
    last_gate_check_ = now();
    check_gates();
  }
  retention_->tick();  // a bounded slice when due (docs/retention.md)
  flush();
}

void Controller::persist(const std::vector<RunState*>& dirty) {
  if (dirty.empty()) return;
  store_->transaction([&] {
    for (RunState* run : dirty) {
      // Stage changes also move the run's times and counts: store both.
      store_->update_run(run->run);
      run->dirty_run = false;
      for (int i : run->dirty_stages) {
        const StageRecord& rec = run->stages[static_cast<size_t>(i)];
        store_->put_stage(rec);
        emit_stage(rec);
        if (rec.finished_at && rec.started_at && rec.status != "skipped") {
          stage_seconds_sum_[rec.status] +=
              static_cast<double>(rec.finished_at - rec.started_at) / 1000.0;
          stage_count_[rec.status] += 1;
        }
        if (rec.finished_at) end_release(*run, i);
      }
      run->dirty_stages.clear();
      emit_run(run->run);  // after its stages: a client sees the run end last
      if (run->finished() && run->run.rollback_of != 0) end_rollback(run->run);
    }
    return true;
  });
}

void Controller::flush() {
  // A gate's answer can change the scheduler again (the next gate, a failed
  // stage); each round stores before it acts. Bounded: a stage has two gates.
  for (int round = 0; round < 8; ++round) {
    scheduler_->dispatch_now(now());
    persist(scheduler_->take_dirty_runs());
    std::vector<GateRequest> gates = scheduler_->take_gate_requests();
    if (gates.empty()) break;
    handle_gates(gates);
  }
  for (Outgoing& o : scheduler_->take_outgoing()) send_to_agent(o.agent_id, o.message);
  for (int64_t id : scheduler_->take_finished_runs()) {
    scheduler_->forget_run(id);
    run_event_state_.erase(id);
    events_->forget_run(id);
    for (auto it = log_progress_.begin(); it != log_progress_.end();)
      it = it->second.run_id == id ? log_progress_.erase(it) : std::next(it);
  }
  events_->pump();
}

void Controller::start_run(RunRecord& run) {
  run.created_at = now();
  if (store_->create_run(run) == 0) {
    log::error("controller", "run.store_failed", {{"job", run.job_name}});
    return;
  }
  auto prev = store_->previous_run(run.job_name, run.id);
  if (auto err =
          scheduler_->submit(run, {}, now(), prev ? result_name_for_status(prev->status) : "")) {
    fail_run(run, "pipeline: " + *err);
    return;
  }
  log::info("controller", "run.created",
            {{"run", std::to_string(run.id)}, {"job", run.job_name}, {"commit", run.commit}});
  flush();
}

void Controller::fail_run(RunRecord run, const std::string& reason, const std::string& log_text) {
  run.status = "failed";
  run.reason = reason;
  if (run.created_at == 0) run.created_at = now();
  run.finished_at = now();
  if (run.id == 0) {
    store_->create_run(run);
  } else {
    store_->update_run(run);
  }
  log::warn("controller", "run.failed_to_start",
            {{"run", std::to_string(run.id)}, {"reason", reason}});
  if (run.id == 0) return;
  // The team reads why in the run's log, like any stage's.
  StageRecord stage;
  stage.run_id = run.id;
  stage.stage_id = "(pipeline)";
  stage.name = "Pipeline";
  stage.status = "failed";
  stage.attempts = 1;
  stage.reason = reason;
  stage.started_at = stage.finished_at = run.finished_at;
  std::string text = log_text.empty() ? reason : log_text;
  if (!text.empty() && text.back() != '\n') text += '\n';
  stage.log_bytes = text.size();
  std::string path = store_->log_path(run.id, stage.stage_id, 1);
  if (FILE* f = std::fopen(path.c_str(), "w")) {
    std::fwrite(text.data(), 1, text.size(), f);
    std::fclose(f);
  }
  store_->put_stage(stage);
  emit_stage(stage);
  events_->log_committed(run.id, stage.stage_id, 1, path, text.size(), true);
  emit_run(run);
  run_event_state_.erase(run.id);  // it never reaches the scheduler
  events_->pump();
}

}  // namespace gantry::controller
