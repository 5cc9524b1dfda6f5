#include "agent.hpp"

#include <fcntl.h>
#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>

#include "agent_job.hpp"
#include "fence_keeper.hpp"
#include "gantry/common/log.hpp"
#include "gantry/common/version.hpp"
#include "gantry/git/git_cache.hpp"
#include "gantry/net/url.hpp"
#include "gantry/pipelines/model.hpp"
#include "gantry/protocol/codec.hpp"
#include "trash.hpp"

namespace gantry::agent {

namespace fs = std::filesystem;

namespace {

// Resending to a controller that could not store (log_error, unavailable).
constexpr int64_t kRetryFirstMs = 200;
constexpr int64_t kRetryMaxMs = 5000;

std::string random_hex(size_t bytes) {
  std::random_device rd;
  std::string out;
  static const char* kHex = "0123456789abcdef";
  for (size_t i = 0; i < bytes; ++i) {
    auto b = static_cast<unsigned>(rd()) & 0xff;
    out += kHex[b >> 4];
    out += kHex[b & 0xf];
  }
  return out;
}

// The job user's ids; a startup error when it does not exist or the agent cannot switch to it.
RunAs resolve_job_user(const std::string& name) {
  if (::geteuid() != 0) {
    throw std::runtime_error("job_user " + name +
                             ": the agent must run as root to start steps as another user");
  }
  struct passwd pw {};
  struct passwd* found = nullptr;
  std::vector<char> buffer(16384);
  if (::getpwnam_r(name.c_str(), &pw, buffer.data(), buffer.size(), &found) != 0 || !found) {
    throw std::runtime_error("job_user " + name + ": no such user");
  }
  if (found->pw_uid == 0) throw std::runtime_error("job_user " + name + " is root");
  return RunAs{found->pw_uid, found->pw_gid};
}

}  // namespace

Agent::Agent(net::EventLoop& loop, AgentConfig config) : loop_(loop), config_(std::move(config)) {
  std::error_code ec;
  state_dir_ = (fs::path(config_.work_dir) / "state").string();
  workspace_dir_ = (fs::path(config_.work_dir) / "workspace").string();
  fs::create_directories(fs::path(state_dir_) / "jobs", ec);
  if (ec) throw std::runtime_error("work dir " + config_.work_dir + ": " + ec.message());
  fs::create_directories(workspace_dir_, ec);
  if (ec) throw std::runtime_error("work dir " + config_.work_dir + ": " + ec.message());
  // The agent's own files (its id, spools, job records): nobody else's business.
  fs::permissions(state_dir_, fs::perms::owner_all, fs::perm_options::replace, ec);
  if (!config_.job_user.empty()) {
    run_as_ = resolve_job_user(config_.job_user);
    // The job user must reach its workspaces (owned by it, one per job) but list nothing else.
    for (const std::string& dir : {config_.work_dir, workspace_dir_}) {
      fs::permissions(dir, fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec,
                      fs::perm_options::replace, ec);
    }
    fs::permissions(fs::path(config_.work_dir) / "mirrors", fs::perms::owner_all,
                    fs::perm_options::replace, ec);
    log::info("agent", "job_user",
              {{"user", config_.job_user},
               {"uid", std::to_string(run_as_->uid)},
               {"gid", std::to_string(run_as_->gid)}});
  }
  // A stable identity across restarts, so the controller can tell a
  // reconnect (same id, same instance) from a restart (same id, new instance).
  fs::path id_file = fs::path(state_dir_) / "agent_id";
  std::ifstream in(id_file);
  std::getline(in, agent_id_);
  if (agent_id_.empty()) {
    agent_id_ = "agent-" + random_hex(8);
    std::ofstream out(id_file);
    out << agent_id_ << "\n";
    if (!out) throw std::runtime_error("cannot write " + id_file.string());
  }
  instance_id_ = random_hex(8);
  if (config_.name.empty()) {
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    config_.name = std::string(host) + "-" + agent_id_.substr(agent_id_.size() - 4);
  }
  // A container engine for docker/dockerfile/kubernetes stages: found by running a
  // container, never assumed; what was tried is logged when none works.
  std::string engine_report;
  if (config_.found_engine) {
    engine_ = config_.found_engine;
  } else if (auto engine = detect_container_engine(config_.container_engine, engine_report)) {
    engine_ = std::make_shared<const ContainerEngine>(std::move(*engine));
  }
  if (engine_) {
    log::info("agent", "container_engine", {{"engine", engine_->describe()}});
    // Containers a previous process of this agent left (kill -9): nothing runs in them now.
    if (int n = engine_->name == "kubernetes" ? 0 : remove_leftover_containers(*engine_, agent_id_);
        n > 0)
      log::info("agent", "containers.leftover_removed", {{"count", std::to_string(n)}});
  } else {
    log::info("agent", "container_engine.none",
              {{"reason", engine_report},
               {"effect", "docker, dockerfile and kubernetes stages are not sent here"}});
  }
  git_ = std::make_unique<git::GitCache>((fs::path(config_.work_dir) / "mirrors").string());
  trash_ = std::make_unique<Trash>(state_dir_);
  std::vector<std::string> controllers;
  for (size_t at = 0; at <= config_.controller.size();) {
    size_t comma = std::min(config_.controller.find(',', at), config_.controller.size());
    std::string one = config_.controller.substr(at, comma - at);
    while (!one.empty() && one.front() == ' ') one.erase(0, 1);
    while (!one.empty() && (one.back() == ' ' || one.back() == '/')) one.pop_back();
    if (!one.empty()) controllers.push_back(one);
    at = comma + 1;
  }
  if (controllers.empty())
    throw std::runtime_error("--controller wants http://HOST:PORT or https://HOST:PORT");
  std::optional<net::Url> url;
  for (const std::string& c : controllers) {
    auto parsed = net::parse_url(c);
    if (!parsed || (parsed->scheme != "http" && parsed->scheme != "https"))
      throw std::runtime_error("--controller wants http://HOST:PORT or https://HOST:PORT, got '" +
                               c + "'");
    if (url && parsed->scheme != url->scheme)
      throw std::runtime_error("--controller: every controller must use " + url->scheme +
                               "://, got '" + c + "'");
    if (!url) url = parsed;
  }
  net::WsClientOptions o;
  const bool tls = url->scheme == "https";
  if (tls) {
    if (std::string error = net::check_tls_client(config_.tls); !error.empty())
      throw std::runtime_error(error);
    if (config_.tls.insecure_skip_verify) {
      log::warn("agent", "insecure_skip_verify",
                {{"controller", config_.controller},
                 {"reason",
                  "the controller's certificate is not checked: anyone on the path can "
                  "impersonate it and run code here"}});
    }
  }
  for (const std::string& c : controllers) {
    std::string ws =
        (tls ? "wss://" : "ws://") + net::host_port(*net::parse_url(c)) + "/api/v1/agent";
    controller_of_[ws] = c;
    if (o.url.empty()) {
      o.url = ws;
    } else {
      o.alternates.push_back(ws);
    }
  }
  current_controller_ = std::make_shared<CurrentController>(controllers.front());
  // An assignment carries the pipeline (under 1 MiB) and its shared libraries
  // (pipelines::kMaxLibraryBytes, JSON-escaped).
  o.max_message = size_t{8} << 20;
  o.tls = config_.tls;
  o.headers.push_back({"Authorization", "Bearer " + config_.token});
  // Idle: full jitter up to 5 s. Holding jobs: reconnect_backoff().
  o.backoff_cap = std::chrono::seconds(5);
  link_ = std::make_unique<net::WsClient>(loop_, o);
  link_->backoff_policy = [this] { return reconnect_backoff(); };
  link_->on_open = [this] { on_open(); };
  link_->on_message = [this](std::string_view data, bool binary) {
    if (!binary) on_message(data);
  };
  link_->on_disconnect = [this](std::string reason) {
    welcomed_ = false;
    log::warn("link", "disconnected", {{"reason", reason}});
    if (reason.rfind("closed 4409", 0) == 0) {
      // Another process says hello with our identity (a copied work dir, a
      // cloned machine): it owns the jobs now. Reconnecting would take them
      // back and forth; stop ours (fenced) and leave.
      log::error("link", "superseded", {{"agent", agent_id_}});
      for (auto& [id, job] : jobs_) {
        if (job->runner && job->running)
          job->runner->cancel("superseded", std::chrono::milliseconds(0), true);
      }
      if (on_fatal)
        on_fatal("another agent process connected as " + agent_id_ +
                 " (a copied work dir?); this one stops");
    } else if (reason.rfind("closed 4403", 0) == 0) {
      // The token may not claim this identity or these labels: trying
      // again cannot help; say why and leave.
      if (on_fatal) on_fatal("the controller refused this agent: " + reason.substr(12));
    }
  };
  link_->on_refused = [this](int status) {
    if (status == 307 || status == 503) {
      // A controller that does not lead (docs/ha.md): the next URL is tried.
      log::info("link", "not_leader", {{"status", std::to_string(status)}});
      return true;
    }
    log::error("link", "refused", {{"status", std::to_string(status)}});
    if (status == 401) {
      if (on_fatal) on_fatal("the controller refused the agent token (HTTP 401)");
      return false;
    }
    if (status == 403) {
      // A known token refused here: the controller wants a client certificate (mutual TLS).
      if (on_fatal)
        on_fatal(config_.tls.cert_file.empty()
                     ? "the controller refused this agent (HTTP 403): it asks agents for a TLS "
                       "client certificate (--client-cert FILE --client-key FILE)"
                     : "the controller refused this agent (HTTP 403)");
      return false;
    }
    return true;
  };
  recover_jobs();
  prune_workspaces();
  prune_mirrors();
}

Agent::~Agent() {
  stop();
}

int64_t Agent::mono_ms() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void Agent::start() {
  link_->start();
  ship_timer_ = loop_.call_every(std::chrono::milliseconds(10), [this] { ship(); });
  fence_timer_ = loop_.call_every(std::chrono::milliseconds(100), [this] { check_fence(); });
  mirror_timer_ = loop_.call_every(std::chrono::hours(24), [this] { prune_mirrors(); });
  log::info("agent", "started",
            {{"agent", config_.name},
             {"id", agent_id_},
             {"controller", config_.controller},
             {"executors", std::to_string(config_.executors)}});
}

void Agent::stop() {
  for (uint64_t* t :
       {&hb_timer_, &ship_timer_, &fence_timer_, &mirror_timer_, &mirror_retry_timer_}) {
    if (*t) loop_.cancel_timer(*t);
    *t = 0;
  }
  for (auto& [id, job] : jobs_) {
    if (job->runner && job->running)
      job->runner->cancel("agent stopping", std::chrono::milliseconds(2000), true);
  }
  for (auto& [id, job] : jobs_) {
    if (job->thread.joinable()) job->thread.join();
  }
  if (link_) link_->stop();
}

void Agent::send(const protocol::AgentMessage& m) {
  if (link_->connected()) link_->send_text(protocol::encode(m));
}

void Agent::on_open() {
  if (auto it = controller_of_.find(link_->url()); it != controller_of_.end())
    current_controller_->set(it->second);
  protocol::Hello h;
  h.agent_id = agent_id_;
  h.instance_id = instance_id_;
  h.name = config_.name;
  h.labels = config_.labels;
  for (const auto& [tool, home] : config_.tools) h.labels.push_back("tool:" + tool);
  if (engine_ && engine_->name != "kubernetes") {  // the capability, and which engine has it
    h.labels.push_back(pipelines::kContainerCapability);
    h.labels.push_back(std::string(pipelines::kContainerCapability) + ":" + engine_->name);
  }
  h.executors = config_.executors;
  h.version = kVersion;
  for (const auto& [id, job] : jobs_) {
    if (job->dropped) continue;
    h.resume.push_back(
        {job->job_id, job->epoch, job->spool ? job->spool->size() : 0, job->finished});
  }
  log::info("link", "connected", {{"resume", std::to_string(h.resume.size())}});
  send(h);
}

void Agent::on_message(std::string_view text) {
  auto decoded = protocol::decode_controller(text);
  if (auto* e = std::get_if<protocol::DecodeError>(&decoded)) {
    log::error("link", "bad_message", {{"error", e->message}});
    return;
  }
  auto& m = std::get<protocol::ControllerMessage>(decoded);
  if (auto* w = std::get_if<protocol::Welcome>(&m)) {
    on_welcome(*w);
  } else if (auto* a = std::get_if<protocol::Assign>(&m)) {
    on_assign(*a);
  } else if (auto* ack = std::get_if<protocol::LogAck>(&m)) {
    auto it = jobs_.find(ack->job_id);
    if (it != jobs_.end() && it->second->epoch == ack->epoch) {
      AgentJob& job = *it->second;
      if (ack->committed > job.acked) job.retry_delay_ms = 0;  // storing again
      job.acked = std::max(job.acked, ack->committed);
      job.sent = std::max(job.sent, job.acked);
      ship();  // refill the window now, not at the next tick
    }
  } else if (auto* c = std::get_if<protocol::Cancel>(&m)) {
    on_cancel(*c);
  } else if (auto* fa = std::get_if<protocol::FinishAck>(&m)) {
    auto it = jobs_.find(fa->job_id);
    if (it != jobs_.end() && it->second->epoch == fa->epoch) {
      it->second->dropped = true;
      if (!it->second->running) drop_job(fa->job_id);
      // Off the path of whatever the controller sends next.
      loop_.post([this] { prune_workspaces(); });
    }
  } else if (auto* n = std::get_if<protocol::Nack>(&m)) {
    on_nack(*n);
  } else if (std::holds_alternative<protocol::HeartbeatAck>(m)) {
    renewed();
  }
}

void Agent::on_welcome(const protocol::Welcome& w) {
  if (w.term < highest_term_) {
    // A controller deposed since another welcomed us (a paused leader woken up): leave it.
    log::warn("link", "stale_leader",
              {{"term", std::to_string(w.term)}, {"highest", std::to_string(highest_term_)}});
    link_->next_url();
    link_->drop();
    return;
  }
  highest_term_ = w.term;
  welcomed_ = true;
  heartbeat_ms_ = std::max<int64_t>(100, w.heartbeat_ms);
  lease_ttl_ms_ = std::max<int64_t>(1000, w.lease_ttl_ms);
  renewed();
  if (hb_timer_) loop_.cancel_timer(hb_timer_);
  hb_timer_ = loop_.call_every(std::chrono::milliseconds(heartbeat_ms_), [this] { heartbeat(); });
  for (const protocol::ResumeVerdict& v : w.resume) {
    auto it = jobs_.find(v.job_id);
    if (it == jobs_.end() || it->second->epoch != v.epoch) continue;
    AgentJob& job = *it->second;
    if (v.verdict != "continue") {
      log::warn("agent", "job.aborted_by_controller", {{"job", job.job_id}});
      stop_job(job, "the controller no longer holds this job", 0, true);
      job.dropped = true;
      if (!job.running) drop_job(job.job_id);
      continue;
    }
    uint64_t size = job.spool ? job.spool->size() : 0;
    // A finished job's spool may have lost, to a power cut, a tail the
    // controller holds (the spool does not sync acknowledged bytes).
    if (job.finished) size = std::max(size, job.finish.log_bytes);
    job.acked = job.sent = std::min(v.committed, size);
    job.finish_sent_at = 0;
    if (v.cancel) stop_job(job, "cancelled", job.spec.cancel_grace_ms, false);
  }
  log::info("link", "welcome", {{"lease_ms", std::to_string(lease_ttl_ms_)}});
}

void Agent::heartbeat() {
  if (!welcomed_) return;
  protocol::Heartbeat hb;
  for (const auto& [id, job] : jobs_) {
    if (!job->dropped) hb.jobs.push_back({job->job_id, job->epoch});
  }
  send(hb);
}

void Agent::renewed() {
  last_ack_ms_ = mono_ms();
  if (keeper_ && !jobs_.empty()) keeper_->deadline(fence_deadline());
  if (alive_touched_ms_ == 0 || last_ack_ms_ - alive_touched_ms_ >= kAliveEveryMs) {
    alive_touched_ms_ = last_ack_ms_;
    // Rewritten, not appended: its time is what --health reads.
    std::ofstream(fs::path(config_.work_dir) / kAliveFile, std::ios::trunc) << "ok\n";
  }
}

bool agent_healthy(const AgentConfig& config, std::string& message) {
  fs::path path = fs::path(config.work_dir) / kAliveFile;
  std::error_code ec;
  auto written = fs::last_write_time(path, ec);
  if (ec) {
    message =
        "unhealthy: " + path.string() + " is missing: this agent has not reached its controller";
    return false;
  }
  auto age =
      std::chrono::duration_cast<std::chrono::seconds>(fs::file_time_type::clock::now() - written);
  if (age > kAliveFor) {
    message = "unhealthy: no word from the controller for " + std::to_string(age.count()) + " s";
    return false;
  }
  message = "ok: the controller acknowledged this agent " +
            std::to_string(std::max<int64_t>(0, age.count())) + " s ago";
  return true;
}

int64_t Agent::fence_deadline() const {
  return last_ack_ms_ + lease_ttl_ms_ * 3 / 4 + std::min<int64_t>(500, lease_ttl_ms_ / 8);
}

void Agent::check_fence() {
  if (jobs_.empty()) return;
  int64_t silent = mono_ms() - last_ack_ms_;
  if (silent <= lease_ttl_ms_ * 3 / 4) return;
  for (auto& [id, job] : jobs_) {
    if (job->running && !job->fenced) {
      log::warn("agent", "job.fenced",
                {{"job", job->job_id}, {"silent_ms", std::to_string(silent)}});
      stop_job(*job, "fenced: lease lost", 0, true);
    }
  }
}

void Agent::on_cancel(const protocol::Cancel& c) {
  auto it = jobs_.find(c.job_id);
  if (it == jobs_.end() || it->second->epoch != c.epoch) return;
  stop_job(*it->second, c.reason, c.grace_ms, false);
}

void Agent::on_nack(const protocol::Nack& n) {
  auto it = jobs_.find(n.job_id);
  if (it == jobs_.end() || it->second->epoch != n.epoch) {
    if (n.job_id.empty()) log::error("link", "nack", {{"code", n.code}, {"message", n.message}});
    return;
  }
  AgentJob& job = *it->second;
  if (n.code == "stale_epoch" || n.code == "unknown_job") {
    log::warn("agent", "job.refused",
              {{"job", job.job_id}, {"code", n.code}, {"message", n.message}});
    // Another holder has it, or nobody does: stop it and forget it.
    stop_job(job, "refused by the controller: " + n.code, 0, true);
    job.dropped = true;
    if (!job.running) drop_job(job.job_id);
    return;
  }
  if (n.code == "log_gap") {
    job.sent = job.acked = std::min(n.expected, job.spool ? job.spool->size() : 0);
    job.finish_sent_at = 0;
    return;
  }
  if (n.code == "log_limit") {
    // The controller keeps nothing past its cap; the job goes on, and its
    // finish reports the rest as dropped.
    log::warn("agent", "job.log_capped", {{"job", job.job_id}, {"at", std::to_string(n.expected)}});
    job.log_cap = std::min(job.log_cap, n.expected);
    job.sent = std::min(job.sent, job.log_cap);
    job.finish_sent_at = 0;
    return;
  }
  // log_error, unavailable, and codes this agent does not know: the
  // controller could not store what we sent. It keeps what it acknowledged;
  // we keep the spool and the finish, and send them again.
  retry_later(job, n.code);
}

void Agent::retry_later(AgentJob& job, const std::string& code) {
  int64_t now = mono_ms();
  // A refusal of something sent before this backoff began: already handled.
  if (now < job.retry_at) return;
  job.retry_delay_ms =
      job.retry_delay_ms == 0 ? kRetryFirstMs : std::min(kRetryMaxMs, job.retry_delay_ms * 2);
  job.retry_at = now + job.retry_delay_ms;
  job.sent = job.acked;
  job.finish_sent_at = 0;
  log::warn("agent", "job.retry",
            {{"job", job.job_id},
             {"code", code},
             {"from", std::to_string(job.acked)},
             {"delay_ms", std::to_string(job.retry_delay_ms)}});
}

net::WsBackoff Agent::reconnect_backoff() const {
  net::WsBackoff b{std::chrono::milliseconds(500), std::chrono::seconds(5), false};
  bool holding = std::any_of(jobs_.begin(), jobs_.end(),
                             [](const auto& entry) { return !entry.second->dropped; });
  if (!holding) return b;  // full jitter: 10 000 idle agents do not storm a restarted controller
  // A job's lease must outlive a controller outage of half the lease. The
  // last ack may be a heartbeat interval (lease/5) old when the controller
  // goes, and we fence at 3/4 of the lease: once it is back, lease/20 is
  // left to reconnect. So the first attempt goes at once, the next ones
  // within lease/25, jittered.
  int64_t cap = std::clamp<int64_t>(lease_ttl_ms_ / 25, 20, 5000);
  b.cap = std::chrono::milliseconds(cap);
  b.base = std::chrono::milliseconds(std::max<int64_t>(10, cap / 4));
  b.first_at_once = true;
  return b;
}

void Agent::stop_job(AgentJob& job, const std::string& reason, int64_t grace_ms, bool fenced) {
  if (fenced) job.fenced = true;
  if (job.stopping && !fenced) return;
  job.stopping = true;
  if (job.runner && job.running)
    job.runner->cancel(reason, std::chrono::milliseconds(grace_ms), fenced);
}

void Agent::drop_job(const std::string& job_id) {
  auto it = jobs_.find(job_id);
  if (it == jobs_.end()) return;
  if (it->second->thread.joinable()) it->second->thread.join();
  trash_->discard(it->second->dir);
  jobs_.erase(it);
}

}  // namespace gantry::agent
