// The jobs half of the agent: assignment, the runner thread, log shipping
// with a window of unacknowledged bytes, the finish record, recovery of
// jobs a previous agent process left behind, and the pruning of workspaces
// and mirrors.
#include <fcntl.h>
#include <unistd.h>
#include <cstring>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

#include "agent.hpp"
#include "agent_job.hpp"
#include "fence_keeper.hpp"
#include "gantry/common/log.hpp"
#include "gantry/git/git_cache.hpp"
#include "gantry/protocol/codec.hpp"
#include "job_host.hpp"
#include "retention.hpp"
#include "runner/process.hpp"
#include "trash.hpp"

namespace gantry::agent {

namespace fs = std::filesystem;

namespace {

constexpr uint64_t kWindow = uint64_t{8} << 20;       // unacknowledged log bytes per job
constexpr size_t kLinkQueueLimit = size_t{16} << 20;  // stop feeding a slow link

// Writes a whole file; `sync` also fsyncs it (durable against power loss).
bool write_file(const fs::path& path, const std::string& data, bool sync) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return false;
  bool ok = true;
  for (size_t done = 0; ok && done < data.size();) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n > 0) {
      done += static_cast<size_t>(n);
    } else if (n < 0 && errno != EINTR) {
      ok = false;
    }
  }
  if (ok && sync) ok = ::fsync(fd) == 0;
  return ::close(fd) == 0 && ok;
}

// The finish record, made to count by a rename once `before_rename` (the
// spool's sync) is done too: a record on disk always comes with its log.
bool write_finish(const fs::path& dir, const protocol::Finish& f,
                  const std::function<void()>& before_rename) {
  fs::path tmp = dir / "finish.json.tmp";
  if (!write_file(tmp, protocol::encode(protocol::AgentMessage(f)), true)) return false;
  before_rename();
  std::error_code ec;
  fs::rename(tmp, dir / "finish.json", ec);
  return !ec;
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string safe_name(std::string s) {
  for (char& c : s) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) c = '_';
  }
  if (s.empty() || s[0] == '.') s = "_" + s;
  return s.substr(0, 200);
}

}  // namespace

void Agent::on_assign(const protocol::Assign& a) {
  renewed();
  auto it = jobs_.find(a.job_id);
  if (it != jobs_.end()) {
    if (it->second->epoch == a.epoch) {
      send(protocol::Accept{a.job_id, a.epoch});  // a resend: accept again
      return;
    }
    // An older epoch of the same job: it is not ours any more.
    stop_job(*it->second, "superseded by epoch " + std::to_string(a.epoch), 0, true);
    it->second->dropped = true;
    if (it->second->running) {
      log::warn("agent", "job.busy", {{"job", a.job_id}});
      return;  // the controller re-offers after its accept timeout
    }
    drop_job(a.job_id);
  }
  auto job = std::make_shared<AgentJob>();
  job->job_id = a.job_id;
  job->epoch = a.epoch;
  job->spec = a.spec;
  job->job_token = a.job_token;
  job->dir = (fs::path(state_dir_) / "jobs" / safe_name(a.job_id)).string();
  std::error_code ec;
  fs::remove_all(job->dir, ec);
  fs::create_directories(job->dir, ec);
  try {
    job->spool = std::make_unique<Spool>((fs::path(job->dir) / "log").string(), config_.log_limit,
                                         job_secrets(a.spec));
  } catch (const std::exception& e) {
    log::error("agent", "job.spool_failed", {{"job", a.job_id}, {"error", e.what()}});
    return;  // not accepted: the controller offers it elsewhere
  }
  // Not synced, written in place: losing it (or a torn one, which recovery
  // drops) costs a retry, never a result.
  write_file(fs::path(job->dir) / "job.json",
             protocol::encode(protocol::AgentMessage(protocol::Accept{a.job_id, a.epoch})), false);
  jobs_[a.job_id] = job;
  send(protocol::Accept{a.job_id, a.epoch});
  log::info("agent", "job.accepted",
            {{"job", a.job_id}, {"stage", a.spec.stage_id}, {"epoch", std::to_string(a.epoch)}});
  start_job(job);
}

void Agent::start_job(const std::shared_ptr<AgentJob>& job) {
  std::string ws = config_.fixed_workspace;
  if (ws.empty()) {
    const std::string base = (fs::path(workspace_dir_) / safe_name(job->spec.workspace)).string();
    auto taken = [&](const std::string& path) {
      return std::any_of(jobs_.begin(), jobs_.end(), [&](const auto& entry) {
        return entry.second.get() != job.get() && entry.second->running &&
               entry.second->workspace == path;
      });
    };
    const std::string key = job->spec.workspace + "\n" + job->spec.stage_id;
    auto last = stage_workspaces_.find(key);
    ws = last != stage_workspaces_.end() && !taken(last->second) ? last->second : base;
    for (int n = 2; taken(ws) && n < 1000; ++n) ws = base + "@" + std::to_string(n);
    if (stage_workspaces_.size() >= 4096) stage_workspaces_.clear();  // bounded; a hint only
    stage_workspaces_[key] = ws;
  }
  job->workspace = ws;
  std::string job_id = job->job_id;
  uint64_t epoch = job->epoch;
  net::EventLoop* loop = &loop_;
  job->host = std::make_unique<HttpJobHost>(
      [current = current_controller_] { return current->get(); },
      JobCredentials{config_.token, job->job_token, config_.tls}, agent_id_, job_id, epoch,
      [this, loop, job_id, epoch](const std::string& step, const std::string& state) {
        loop->post([this, job_id, epoch, step, state] {
          send(protocol::StepEvent{job_id, epoch, step, state});
          // A step's output goes out now, not at the next tick: the controller
          // acknowledges it while the runner syncs the spool and records the
          // finish, which waits for that acknowledgement.
          ship();
        });
      });
  job->runner = std::make_unique<JobRunner>(job->spec, ws, *job->spool, *job->host);
  job->runner->set_run_as(run_as_);
  job->runner->set_tools(config_.tools, config_.tools_from_path);
  job->runner->set_containers(engine_, agent_id_);
  job->runner->set_git(git_.get());
  write_file(fs::path(job->dir) / "cookie", job->runner->cookie(), false);
  job->running = true;
  if (keeper_) {
    keeper_->deadline(fence_deadline());
    keeper_->add(job->runner->cookie());
  }
  bool checkout =
      !job->spec.skip_checkout && config_.fixed_workspace.empty() && !job->spec.repo_url.empty();
  git::GitCache* git = git_.get();
  std::string mirrors = (fs::path(config_.work_dir) / "mirrors").string();
  AgentJob* raw = job.get();
  std::optional<RunAs> run_as = run_as_;
  job->thread = std::thread([this, raw, ws, checkout, git, mirrors, loop, job_id, epoch, run_as] {
    JobOutcome outcome;
    std::error_code ec;
    fs::create_directories(ws, ec);
    bool ok = true;
    if (checkout && run_as) {
      // A workspace the job user had: back to the agent for the checkout (git refuses to work
      // in a repository another user owns, and rightly).
      std::string error;
      const RunAs agent{static_cast<unsigned>(::geteuid()), static_cast<unsigned>(::getegid())};
      if (fs::exists(fs::path(ws) / ".git", ec) && !give_tree(ws, agent, error))
        raw->spool->append("[gantry] " + error + "\n");
    }
    if (checkout) {
      raw->spool->append("[gantry] checkout " + raw->spec.repo_url + " at " + raw->spec.commit +
                         "\n");
      // A private repository's credentials: for this fetch only, from memory.
      const git::GitCredentials credentials =
          git::make_credentials(raw->spec.checkout_secret, raw->spec.known_hosts, raw->spec.git_ca);
      git::CheckoutResult r = git->checkout(raw->spec.repo_url, raw->spec.commit, ws, &credentials);
      if (!r.ok) {
        raw->spool->append("[gantry] checkout failed: " + r.error + "\n");
        outcome.result = "FAILURE";
        outcome.reason = "checkout: " + r.error;
        ok = false;
      }
      note_mirror_use(ws, mirrors);  // what mirror retention goes by
    }
    if (ok && run_as) {
      // The checkout (made by the agent) becomes the job user's, who builds in it.
      std::string error;
      std::error_code perm_ec;
      if (!give_tree(ws, *run_as, error) ||
          (fs::permissions(ws, fs::perms::owner_all, fs::perm_options::replace, perm_ec),
           perm_ec && (error = "cannot protect " + ws + ": " + perm_ec.message(), true))) {
        raw->spool->append("[gantry] " + error + "\n");
        outcome.result = "FAILURE";
        outcome.reason = error;
        ok = false;
      }
    }
    if (ok) outcome = raw->runner->run();
    raw->spool->flush();
    protocol::Finish f;
    f.job_id = job_id;
    f.epoch = epoch;
    f.result = outcome.result;
    // The reason is shown by the API, events, the CLI and the daemon logs:
    // masked as the log is.
    f.reason = mask_secrets(outcome.reason, job_secrets(raw->spec));
    f.tests = outcome.tests;
    f.inconclusive = outcome.inconclusive;
    // What the job's Groovy left for later jobs; masked, as they may reach logs and pages.
    std::vector<std::string> secrets = job_secrets(raw->spec);
    for (const auto& [k, v] : outcome.env_changes) f.env_changes[k] = mask_secrets(v, secrets);
    f.script_state = outcome.script_state;
    f.description = mask_secrets(outcome.description, secrets);
    f.display_name = mask_secrets(outcome.display_name, secrets);
    f.log_bytes = raw->spool->size();
    f.dropped_bytes = raw->spool->dropped();
    // The outcome is kept on disk until the controller acknowledges it. The
    // record is fsynced first and the spool after it: meanwhile the controller
    // acknowledges the step's last output (shipped when the step ended), and
    // the spool need not sync what the controller holds durably, so most
    // stages make one sync here, not two. Both are durable before the rename
    // makes the record count, and so before the finish is sent.
    write_finish(raw->dir, f, [raw] { raw->spool->sync(); });
    loop->post([this, job_id, epoch, f] {
      auto it = jobs_.find(job_id);
      if (it == jobs_.end() || it->second->epoch != epoch) return;
      AgentJob& job = *it->second;
      // The runner thread is ending; drop_job (or stop) joins it. Joining
      // here would hold the loop while it unwinds.
      job.running = false;
      if (keeper_) keeper_->remove(job.runner->cookie());
      job.finished = true;
      job.finish = f;
      job.finish.fenced = job.fenced;  // stopped by us for want of a lease: retriable
      log::info("agent", "job.finished",
                {{"job", job_id}, {"result", f.result}, {"reason", f.reason}});
      if (job.dropped) {
        drop_job(job_id);
      } else {
        ship();  // the last bytes and the finish go now
      }
    });
  });
  // While the step starts and runs: the directories of jobs dropped since.
  trash_->empty_later();
}

void Agent::ship() {
  if (!welcomed_ || !link_->connected()) return;
  int64_t now = mono_ms();
  std::string chunk;
  for (auto& [id, job_ptr] : jobs_) {
    AgentJob& job = *job_ptr;
    if (job.dropped || !job.spool) continue;
    job.spool->acknowledged(job.acked);  // called after every log_ack
    if (now < job.retry_at) continue;    // the controller could not store; not yet
    uint64_t size = std::min(job.spool->size(), job.log_cap);
    while (job.sent < size && job.sent - job.acked < kWindow &&
           link_->queued_bytes() < kLinkQueueLimit) {
      chunk.clear();
      size_t n = job.spool->read(job.sent, protocol::kMaxChunk, chunk);
      if (n == 0) break;
      protocol::LogChunk h{job.job_id, job.epoch, job.sent};
      if (!link_->send_binary(protocol::encode_log(h, chunk))) break;
      job.sent += n;
    }
    if (!job.finished) continue;
    protocol::Finish finish = job.finish;
    if (finish.log_bytes > job.log_cap) {
      finish.dropped_bytes += finish.log_bytes - job.log_cap;
      finish.log_bytes = job.log_cap;
    }
    // Kept until finish_ack, sent again every 5 s without an answer.
    if (job.acked >= finish.log_bytes &&
        (job.finish_sent_at == 0 || now - job.finish_sent_at > 5000)) {
      job.finish_sent_at = now;
      send(finish);
    }
  }
}

void Agent::recover_jobs() {
  trash_->empty_later();  // what a previous process left there
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(fs::path(state_dir_) / "jobs", ec)) {
    auto decoded = protocol::decode_agent(read_file(entry.path() / "job.json"));
    auto* msg = std::get_if<protocol::AgentMessage>(&decoded);
    auto* accept = msg ? std::get_if<protocol::Accept>(msg) : nullptr;
    if (!accept) {
      fs::remove_all(entry.path(), ec);
      continue;
    }
    auto job = std::make_shared<AgentJob>();
    job->job_id = accept->job_id;
    job->epoch = accept->epoch;
    job->dir = entry.path().string();
    try {
      job->spool = std::make_unique<Spool>((entry.path() / "log").string(), protocol::kLogLimit,
                                           std::vector<std::string>{});
    } catch (const std::exception&) {
      fs::remove_all(entry.path(), ec);
      continue;
    }
    // Processes the previous agent process left behind (grandchildren of a
    // step outlive it) must not run on beside a retry elsewhere.
    std::string cookie = read_file(entry.path() / "cookie");
    if (!cookie.empty()) {
      int killed = signal_cookie_holders(cookie, SIGKILL);
      if (killed > 0)
        log::warn("agent", "job.leftovers_killed",
                  {{"job", job->job_id}, {"processes", std::to_string(killed)}});
    }
    auto fin = protocol::decode_agent(read_file(entry.path() / "finish.json"));
    auto* fmsg = std::get_if<protocol::AgentMessage>(&fin);
    if (auto* f = fmsg ? std::get_if<protocol::Finish>(fmsg) : nullptr) {
      job->finish = *f;
    } else {
      // The job's process died with the previous agent process: report what
      // the log holds, and let the controller retry it if the stage allows.
      job->spool->append(
          "\n[gantry] the agent restarted while this job ran; its process is gone\n");
      job->finish.job_id = job->job_id;
      job->finish.epoch = job->epoch;
      job->finish.result = "FAILURE";
      job->finish.reason = "agent restarted during the job";
      job->finish.log_bytes = job->spool->size();
      write_finish(entry.path(), job->finish, [&job] { job->spool->sync(); });
    }
    job->finished = true;
    jobs_[job->job_id] = job;
    log::info("agent", "job.recovered", {{"job", job->job_id}, {"result", job->finish.result}});
  }
}

void Agent::prune_workspaces() {
  std::set<std::string> in_use;
  for (const auto& [id, job] : jobs_) {
    in_use.insert(safe_name(job->spec.workspace));
    if (!job->workspace.empty()) in_use.insert(fs::path(job->workspace).filename().string());
  }
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(workspace_dir_, ec))
    names.push_back(entry.path().filename().string());
  std::vector<std::string> stale = stale_workspaces(names, config_.keep_workspaces, in_use);
  for (const std::string& name : stale) trash_->discard((fs::path(workspace_dir_) / name).string());
  if (stale.empty()) return;
  log::info("agent", "workspaces.pruned", {{"count", std::to_string(stale.size())}});
  trash_->empty_later();
}

void Agent::prune_mirrors() {
  if (config_.mirror_max_age.count() <= 0) return;
  bool busy = std::any_of(jobs_.begin(), jobs_.end(),
                          [](const auto& entry) { return entry.second->running; });
  if (busy) {
    // A checkout may be reading an old mirror right now: try again later.
    if (!mirror_retry_timer_) {
      mirror_retry_timer_ = loop_.call_after(std::chrono::minutes(10), [this] {
        mirror_retry_timer_ = 0;
        prune_mirrors();
      });
    }
    return;
  }
  auto cutoff = fs::file_time_type::clock::now() - config_.mirror_max_age;
  std::vector<std::string> stale =
      stale_mirrors((fs::path(config_.work_dir) / "mirrors").string(), cutoff);
  for (const std::string& dir : stale) trash_->discard(dir);
  if (stale.empty()) return;
  log::info("agent", "mirrors.pruned", {{"count", std::to_string(stale.size())}});
  trash_->empty_later();
}

}  // namespace gantry::agent
