#include "service/controller.hpp"

#include "service/change_poller.hpp"
#include "service/commit_status.hpp"
#include "service/coordination_service.hpp"
#include "service/kube_pods.hpp"
#include "service/notifier.hpp"
#include "service/notify_events.hpp"
#include "service/notify_steps.hpp"

#include <unistd.h>

#include <cstdio>
#include <set>

#include "gantry/common/log.hpp"
#include "gantry/net/tls.hpp"
#include "service/agent_gateway.hpp"
#include "service/audit_log.hpp"
#include "service/engine.hpp"
#include "service/event_sink.hpp"
#include "service/events.hpp"
#include "service/follower.hpp"
#include "service/gate_service.hpp"
#include "service/git_workers.hpp"
#include "service/release_service.hpp"
#include "service/repo_watcher.hpp"
#include "service/retention.hpp"
#include "service/routes.hpp"
#include "service/run_service.hpp"
#include "store/leader_lease.hpp"
#include "store/store.hpp"

namespace gantry::controller {

namespace {

// Fetches and pipeline reads in parallel: a slow remote holds one of these.
constexpr int kGitThreads = 4;

std::map<std::string, std::set<std::string>> pool_repositories(const Config& config) {
  std::map<std::string, std::set<std::string>> out;
  for (const AgentTokenConfig& a : config.agent_tokens) {
    if (!a.any_repository) out[a.name] = {a.repositories.begin(), a.repositories.end()};
  }
  return out;
}

std::vector<LockResource> lock_resources(const Config& config) {
  std::vector<LockResource> out;
  for (const LockConfig& l : config.locks) out.push_back(LockResource{l.name, l.labels});
  return out;
}

SchedulerOptions scheduler_options(const Config& config, const ControllerOptions& options) {
  SchedulerOptions so;
  so.lease_ttl_ms = config.agent_lost_after_ms;
  so.heartbeat_ms = std::min<int64_t>(options.heartbeat_ms, config.agent_lost_after_ms / 5);
  so.cancel_grace_ms = config.cancel_grace_ms;
  // An offer not taken is offered again before its lease could lapse.
  so.accept_timeout_ms = std::min<int64_t>(5000, config.agent_lost_after_ms / 2);
  for (const auto& [id, s] : config.secrets) {
    so.secrets[id] = s.value;
    so.secret_scopes[id] = s.scope;
  }
  for (const auto& [name, env] : config.environments) so.environments[name] = env.gated;
  so.pool_repositories = pool_repositories(config);
  so.auto_promote = config.open_gates;
  if (config.kubernetes.enabled()) so.max_pods = config.kubernetes.max_pods;
  for (const RepositoryConfig& r : config.repositories) {
    if (!r.credentials.empty()) so.repository_credentials[r.name] = r.credentials;
  }
  so.git_known_hosts = config.git.known_hosts;
  so.git_ca_pem = config.git.ca_pem;
  so.any_label = options.any_label;
  so.skip_stage = options.skip_stage;
  return so;
}

net::TlsServerOptions tls_options(const Config& config) {
  return net::TlsServerOptions{config.tls_cert, config.tls_key, config.tls_client_ca};
}

int64_t mono_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// 127.0.0.0/8, ::1 and "localhost": nobody else can reach the port.
bool is_loopback(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

}  // namespace

Controller::Controller(Config config, net::EventLoop& loop, ControllerOptions options)
    : config_(std::move(config)), loop_(loop), options_(options) {
  store_ = std::make_unique<Store>(config_.data_dir, config_.database.url);
  if (options_.lease) {
    // Every write from here on (recovery included) checks the lease first.
    lease_renewed_mono_ = mono_ms();
    store_->set_statement_deadline(options_.lease->statement_deadline_ms());
    store_->set_fence(options_.lease->term(), options_.lease->holder(),
                      [this] { deposed("another controller took the leader's lease"); });
  }
  hub_ = std::make_unique<EventHub>(*store_, loop_);
  notifier_ = std::make_unique<Notifier>(config_.notifications);
  events_ = std::make_unique<NotifyingEvents>(std::make_unique<EventPublisher>(*hub_), *notifier_,
                                              *store_);
  tokens_ = ensure_generated_tokens(config_.data_dir);
  build_auth();
  audit_ = std::make_unique<AuditLog>(*store_, clock_);
  SchedulerOptions so = scheduler_options(config_, options_);
  so.deploy_blocked = [this](const std::string& name, int64_t at) {
    auto env = config_.environments.find(name);
    if (env == config_.environments.end() || config_.open_gates) return std::vector<std::string>{};
    return gmud::time_blocks(env->second.policy, gmud::Clock(std::chrono::seconds(at / 1000)));
  };
  if (options_.lease) so.term = options_.lease->term();
  engine_ = std::make_unique<Engine>(*store_, clock_, *events_, std::move(so));
  engine_->scheduler().declare_locks(lock_resources(config_), clock_.now_ms());
  runs_ = std::make_unique<RunService>(*engine_, *store_, *audit_, config_);
  hub_->set_repo_of([this](int64_t run) {
    Result<std::string> repo = runs_->repo_of(run);
    return repo ? *repo : std::string();
  });
  releases_ = std::make_unique<ReleaseService>(*engine_, *store_, *audit_, *events_);
  gates_ = std::make_unique<GateService>(*engine_, *store_, *audit_, *events_, *releases_, config_);
  Defer defer = [this](std::chrono::milliseconds delay, std::function<void()> fn) {
    if (delay.count() == 0) {
      loop_.post(std::move(fn));
    } else {
      loop_.call_after(delay, std::move(fn));
    }
  };
  agents_ = std::make_unique<AgentGateway>(*engine_, *store_, *events_, *audit_, auth_, *gates_,
                                           std::move(defer));
  agents_->set_job_key(tokens_.job_key);
  agents_->set_notify([this](const Job& job, const RunRecord& run, const std::string& body) {
    return notify_step(*notifier_, job.job_id, job.epoch, run, config_.users, body);
  });
  agents_->set_build([this](const Job& job, const RunRecord& run, const std::string& body) {
    return runs_->build_step(job, run, body);
  });
  engine_->set_outbox(agents_.get());
  EngineHooks hooks;
  hooks.gates = [this](const std::vector<GateRequest>& g) { gates_->handle(g); };
  coordination_ = std::make_unique<CoordinationService>(*engine_);
  agents_->set_coordination(coordination_.get());
  hooks.stage_ended = [this](const RunState& run, int i) { releases_->stage_ended(run, i); };
  hooks.run_ended = [this](const RunRecord& run) {
    if (run.rollback_of != 0) releases_->run_ended(run);
    runs_->upstream_finished(run);
  };
  statuses_ = std::make_unique<CommitStatus>(config_.repositories, config_.secrets);
  hooks.run_stored = [this](const RunState& run, const std::vector<int>& stages) {
    statuses_->run_stored(run, stages);
  };
  hooks.run_forgotten = [this](int64_t id) {
    agents_->logs().forget_run(id);
    statuses_->forget(id);
    coordination_->run_forgotten(id);
  };
  hooks.pods = [this](const Scheduler::PodChanges& changes) {
    if (kube_) kube_->handle(changes);
  };
  engine_->set_hooks(std::move(hooks));

  git_ = std::make_unique<GitWorkers>(loop_, config_.data_dir + "/mirrors", kGitThreads);
  git_->set_libraries(config_.libraries, config_.skip_unknown_libraries);
  apply_git_credentials();
  RepoWatcherHooks wh;
  wh.base_commit = [this](const std::string& job) { return runs_->base_commit(job); };
  wh.start_run = [this](const RepoTrigger& t) { runs_->start_triggered(t); };
  wh.now_ms = [this] { return clock_.now_ms(); };
  watcher_ = std::make_unique<RepoWatcher>(config_.repositories, loop_, *git_, *store_, wh);
  runs_->set_git(git_.get(), watcher_.get());
  ChangePollerHooks ch;
  ch.change = [this](const RepositoryConfig& repo, const PushEvent& event) {
    (void)runs_->change_request(repo, event, "poll");
  };
  ch.now_ms = [this] { return clock_.now_ms(); };
  changes_ = std::make_unique<ChangePoller>(loop_, *store_, std::move(ch));
  changes_->reconfigure(config_.repositories, config_.secrets);
  runs_->set_change_poller(changes_.get());
  gates_->set_git(git_.get());
  RouteLimits limits;
  limits.agent_client_cert = !config_.tls_client_ca.empty();
  routes_ = std::make_unique<Routes>(auth_, *audit_, *engine_, *runs_, *gates_, *releases_,
                                     *agents_, watcher_.get(), limits);
  runs_->set_statuses(statuses_.get());
  routes_->set_report_key(tokens_.job_key);
  routes_->set_locks([this] { return coordination_->list_locks(); });
  routes_->add_metrics([this] { return statuses_->metrics_text(); });
  if (options_.lease) {
    routes_->set_term(options_.lease->term());
    routes_->add_metrics([this] {
      return leadership_metrics(true, options_.lease->term(),
                                static_cast<double>(mono_ms() - lease_renewed_mono_) / 1000.0);
    });
  }
  routes_->add_metrics([this] { return notifier_->metrics_text(); });
  retention_ =
      std::make_unique<Retention>(*store_, config_.retention, [this] { return clock_.now_ms(); });
}

static git::GitCredentials git_credentials(const Config& config, const std::string& secret) {
  auto it = secret.empty() ? config.secrets.end() : config.secrets.find(secret);
  return git::make_credentials(it == config.secrets.end() ? std::string() : it->second.value,
                               config.git.known_hosts, config.git.ca_pem);
}

void Controller::apply_git_credentials() {
  if (!git_) return;
  for (const RepositoryConfig& r : config_.repositories)
    git_->set_credentials(r.url, git_credentials(config_, r.credentials));
  for (const LibraryConfig& l : config_.libraries)
    git_->set_credentials(l.url, git_credentials(config_, l.credentials));
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
    (void)audit_->record("controller", "config.reload_failed", path, {{"error", e->message}});
    return;
  }
  Config next = std::get<Config>(std::move(loaded));
  std::string needs_restart;
  auto differs = [&](bool changed, const char* what) {
    if (changed) needs_restart += (needs_restart.empty() ? "" : ", ") + std::string(what);
  };
  // Repositories are watched with their new settings at once; a repository whose fetch or
  // resolve is in flight when it is removed has its result ignored.
  std::string repositories = watcher_ ? watcher_->reconfigure(next.repositories) : "";
  config_.repositories = std::move(next.repositories);
  // Shared libraries: the runs resolved from now on load the new list.
  config_.libraries = std::move(next.libraries);
  if (git_) git_->set_libraries(config_.libraries, config_.skip_unknown_libraries);
  // A renewed certificate keeps its file names: the files are read again at every reload.
  // Turning TLS on or off, or the listen address, needs a restart.
  bool tls_was_on = !config_.tls_cert.empty();
  differs(tls_was_on != !next.tls_cert.empty(), "tls");
  differs(next.database != config_.database, "database");  // the store stays on its database
  if (tls_was_on && !next.tls_cert.empty() && server_) {
    std::string tls_error;
    if (server_->reload_tls(tls_options(next), tls_error)) {
      config_.tls_cert = next.tls_cert;
      config_.tls_key = next.tls_key;
      config_.tls_client_ca = next.tls_client_ca;
    } else {
      log::error("controller", "tls.reload_failed", {{"error", tls_error}});
      (void)audit_->record("controller", "config.reload_failed", path, {{"error", tls_error}});
    }
  }
  config_.notifications = std::move(next.notifications);
  notifier_->reconfigure(config_.notifications);
  config_.users = std::move(next.users);
  config_.agent_tokens = std::move(next.agent_tokens);
  config_.environments = std::move(next.environments);
  config_.secrets = std::move(next.secrets);
  config_.allowed_run_urls = std::move(next.allowed_run_urls);
  config_.source_sha256 = next.source_sha256;
  build_auth();
  std::map<std::string, bool> environments;
  for (const auto& [name, env] : config_.environments) environments[name] = env.gated;
  std::map<std::string, std::string> secrets;
  std::map<std::string, SecretScope> scopes;
  for (const auto& [id, s] : config_.secrets) {
    secrets[id] = s.value;
    scopes[id] = s.scope;
  }
  engine_->scheduler().reconfigure(std::move(environments), std::move(secrets), std::move(scopes));
  engine_->scheduler().set_pool_repositories(pool_repositories(config_));
  // Lockable resources: the declared set is replaced; a resource held stays held until released.
  config_.locks = std::move(next.locks);
  engine_->scheduler().declare_locks(lock_resources(config_), clock_.now_ms());
  config_.git = std::move(next.git);
  apply_git_credentials();
  {
    std::map<std::string, std::string> credentials;
    for (const RepositoryConfig& r : config_.repositories) {
      if (!r.credentials.empty()) credentials[r.name] = r.credentials;
    }
    engine_->scheduler().set_git_access(std::move(credentials), config_.git.known_hosts,
                                        config_.git.ca_pem);
  }
  statuses_->reconfigure(config_.repositories, config_.secrets);
  changes_->reconfigure(config_.repositories, config_.secrets);
  std::map<std::string, std::string> details = {
      {"sha256", config_.source_sha256},
      {"users", std::to_string(config_.users.size())},
      {"environments", std::to_string(config_.environments.size())}};
  if (!needs_restart.empty()) details["needs_restart"] = needs_restart;
  if (!repositories.empty()) details["repositories"] = repositories;
  (void)audit_->record("controller", "config.reload", path, details);
  // Waiting requests are decided under the new policies from the next tick.
  last_gate_check_ = 0;
}

Controller::~Controller() {
  stop();
}

bool Controller::start(std::string& error) {
  std::string where = config_.listen_host + ":" + std::to_string(config_.listen_port);
  if (config_.tls_cert.empty() && !is_loopback(config_.listen_host)) {
    if (!config_.insecure) {
      error = "listen " + where +
              ": not a loopback address, and the config has no 'tls': serve HTTPS with "
              "tls: {cert: FILE, key: FILE}, or set 'insecure: true' to send tokens and secrets "
              "in clear text";
      return false;
    }
    log::warn("controller", "insecure",
              {{"listen", where},
               {"reason",
                "plain HTTP on a non-loopback address (insecure: true): tokens, secrets and "
                "job scripts travel unencrypted"}});
  }
  net::ServerOptions so;
  so.host = config_.listen_host;
  so.port = config_.listen_port;
  so.tls = tls_options(config_);
  so.upload_prefixes = {"/api/v1/agent/"};
  server_ = std::make_unique<net::HttpServer>(
      loop_, so, [this](const net::Request& r) { return routes_->handle(r); },
      [this](const net::Request& r, std::shared_ptr<net::WsConnection> c, net::WsHandlers& h) {
        if (r.path == "/api/v1/events")
          return accept_events(r, auth_, *audit_, *hub_, std::move(c), h);
        return agents_->accept(r, std::move(c), h);
      },
      // The door: judged from the head, before a byte of the body is read.
      [this](const net::Request& head) { return routes_->check_head(head); });
  if (!server_->start(error)) return false;
  {
    std::string url = config_.public_url;
    if (url.empty()) url = listen_url(config_.listen_host);
    if (options_.lease) {
      // Where followers send users and agents: the configured address, or this one now that the
      // port is known; published by a renewal right away.
      if (!config_.database.advertise.empty()) {
        options_.lease->set_address(config_.database.advertise);
      } else {
        std::string host = config_.listen_host;
        if (host == "0.0.0.0" || host == "::" || host.empty()) {
          char name[256] = {};
          ::gethostname(name, sizeof name - 1);
          host = name;
        }
        options_.lease->set_address(listen_url(host));
      }
      // Due now (as if renewed a third of the lease ago: an earlier estimate is the safe side).
      lease_checked_mono_ = 0;
      lease_renewed_mono_ =
          std::min(lease_renewed_mono_, mono_ms() - options_.lease->lease_ms() / 3);
      renew_lease();
    }
    engine_->scheduler().set_public_url(url);
    statuses_->set_public_url(url);
    notifier_->set_public_url(url);
    if (config_.kubernetes.enabled()) {
      const std::string& to = config_.kubernetes.controller_url;
      kube_ =
          std::make_unique<KubePods>(config_.kubernetes, to.empty() ? url : to, loop_, *engine_);
    }
  }
  // Which configuration this controller runs with, so a change to users,
  // environments or approvers shows in the audit log.
  std::map<std::string, std::string> config_details;
  if (!config_.source_sha256.empty()) config_details["sha256"] = config_.source_sha256;
  (void)audit_->record("controller", "config.load",
                       config_.source_path.empty() ? "(defaults)" : config_.source_path,
                       config_details);
  // Runs that were going when the controller stopped: their stages as
  // stored; running jobs wait for their agents (leases extended by a grace).
  if (Status s = engine_->recover(); !s) {
    log::error("controller", "recover.incomplete", {{"error", s.error().message}});
  }
  if (kube_) kube_->start();
  // Where this controller listens, for scripts and tests that start it on
  // port 0 (make demo, the end-to-end tests).
  {
    std::string addr = listen_url(config_.listen_host) + "\n";
    std::string tmp = config_.data_dir + "/controller.addr.tmp";
    if (FILE* f = std::fopen(tmp.c_str(), "w")) {
      std::fputs(addr.c_str(), f);
      std::fclose(f);
      std::rename(tmp.c_str(), (config_.data_dir + "/controller.addr").c_str());
    }
  }
  watcher_->start();
  changes_->start();
  tick_timer_ = loop_.call_every(std::chrono::milliseconds(options_.tick_ms), [this] { tick(); });
  log::info("controller", "listening",
            {{"address", config_.listen_host + ":" + std::to_string(server_->port())},
             {"data", config_.data_dir}});
  return true;
}

// scheme://HOST:PORT of this controller's listening port, an IPv6 host in brackets.
std::string Controller::listen_url(const std::string& host) const {
  std::string url = config_.tls_cert.empty() ? "http://" : "https://";
  url += host.find(':') == std::string::npos ? host : "[" + host + "]";
  return url + ":" + std::to_string(server_->port());
}

uint16_t Controller::port() const {
  return server_ ? server_->port() : 0;
}

void Controller::stop() {
  if (tick_timer_) loop_.cancel_timer(tick_timer_);
  tick_timer_ = 0;
  if (watcher_) watcher_->stop();
  if (changes_) changes_->stop();
  if (hub_) hub_->close_all();
  if (server_) server_->stop();
  if (agents_) agents_->logs().close_all();
}

// Renews the lease every third of its length. A renewal that finds another holder means this
// controller was deposed; renewals that fail (the database unreachable) for the lease's length
// mean another may have taken over by now: either way this one stops leading at once.
void Controller::renew_lease() {
  const int64_t now = mono_ms();
  const int64_t length = options_.lease->lease_ms();
  if (now - lease_checked_mono_ < length / 3 / 2 || now - lease_renewed_mono_ < length / 3) return;
  lease_checked_mono_ = now;
  Result<bool> renewed = options_.lease->renew();
  if (renewed && *renewed) {
    lease_renewed_mono_ = now;  // sent at `now`: the database's expiry is later than now + length
    return;
  }
  if (renewed) return deposed("another controller took the leader's lease");
  log::warn("leader", "renew.failed", {{"error", renewed.error().message}});
  if (mono_ms() - lease_renewed_mono_ >= length)
    deposed("the lease could not be renewed for " + std::to_string(length) + " ms");
}

void Controller::deposed(const std::string& why) {
  log::error("leader", "deposed",
             {{"term", std::to_string(options_.lease->term())}, {"reason", why}});
  if (options_.on_deposed) options_.on_deposed(why);
}

void Controller::tick() {
  if (options_.lease) renew_lease();
  engine_->scheduler().tick(clock_.now_ms());
  if (clock_.now_ms() - last_gate_check_ >= 1000) {
    last_gate_check_ = clock_.now_ms();
    gates_->check();
  }
  if (kube_ && clock_.now_ms() - last_pod_check_ >= 2000) {
    last_pod_check_ = clock_.now_ms();
    kube_->poll();
  }
  (void)engine_->flush();  // a store failure is retried here, every tick
  retention_->tick();
}

}  // namespace gantry::controller
