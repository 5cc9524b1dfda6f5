#include "service/repo_watcher.hpp"

#include <algorithm>
#include <chrono>

#include "gantry/common/log.hpp"
#include "gantry/pipelines/groovy_eval.hpp"
#include "gantry/pipelines/loader.hpp"
#include "gantry/pipelines/when_eval.hpp"

namespace gantry::controller {

namespace {

constexpr const char* kHeads = "refs/heads/";
constexpr const char* kTags = "refs/tags/";
constexpr int64_t kMaxBackoffMs = int64_t{5} * 60 * 1000;
constexpr int64_t kBusyRetryMs = 1000;
constexpr size_t kMaxWatchedRefs = 1000;
constexpr size_t kMaxKnownRefs = 100000;  // names kept to check a trigger's ref

bool starts_with(const std::string& s, const char* prefix) {
  return s.rfind(prefix, 0) == 0;
}

bool any_glob(const std::vector<std::string>& patterns, const std::string& name) {
  return std::any_of(patterns.begin(), patterns.end(),
                     [&](const std::string& p) { return pipelines::glob_match(p, name); });
}

}  // namespace

RepoWatcher::RepoWatcher(const std::vector<RepositoryConfig>& repos, net::EventLoop& loop,
                         GitWorkers& workers, Store& store, RepoWatcherHooks hooks)
    : loop_(loop), workers_(workers), store_(store), hooks_(std::move(hooks)) {
  for (const RepositoryConfig& c : repos) {
    Repo& r = repos_[c.name];
    r.config = c;
    r.status.name = c.name;
    r.status.url = c.url;
  }
}

RepoWatcher::~RepoWatcher() {
  stop();
}

bool RepoWatcher::watched(const RepositoryConfig& repo, const std::string& ref) {
  if (starts_with(ref, kHeads)) {
    const std::string name = ref.substr(std::char_traits<char>::length(kHeads));
    // No `branches`: every branch.
    return repo.branches.empty() || any_glob(repo.branches, name);
  }
  if (starts_with(ref, kTags)) {
    return any_glob(repo.tags, ref.substr(std::char_traits<char>::length(kTags)));
  }
  return false;
}

std::string RepoWatcher::job_name(const std::string& repo, const std::string& ref) {
  std::string name = ref;
  for (const char* prefix : {kHeads, kTags}) {
    if (starts_with(name, prefix)) name = name.substr(std::char_traits<char>::length(prefix));
  }
  return repo + "/" + name;
}

std::string RepoWatcher::full_ref(const std::string& name, const std::string& ref) const {
  auto it = repos_.find(name);
  if (it == repos_.end()) return ref;
  const RepoStatus& s = it->second.status;
  if ((ref.empty() || ref == "HEAD") && !s.default_branch.empty()) return s.default_branch;
  for (const char* prefix : {kHeads, kTags}) {
    if (s.heads.count(prefix + ref)) return prefix + ref;
  }
  return ref.empty() ? "HEAD" : ref;
}

std::string RepoWatcher::unknown_ref(const std::string& name, const std::string& ref) const {
  auto it = repos_.find(name);
  if (it == repos_.end() || !it->second.listed || ref.empty() || ref == "HEAD") return {};
  const Repo& r = it->second;
  const bool hex = ref.size() >= 7 && ref.size() <= 40 &&
                   ref.find_first_not_of("0123456789abcdef") == std::string::npos;
  if (hex || r.all_refs.count(ref)) return {};
  for (const char* prefix : {kHeads, kTags}) {
    if (r.all_refs.count(prefix + ref)) return {};
  }
  std::string branches;
  int shown = 0;
  for (const std::string& full : r.all_refs) {
    if (!starts_with(full, kHeads) || shown == 10) continue;
    branches += (shown++ ? ", " : "") + full.substr(std::char_traits<char>::length(kHeads));
  }
  return "repository '" + name + "' has no branch or tag '" + ref + "'" +
         (branches.empty() ? std::string() : " (branches: " + branches + ")");
}

const RepositoryConfig* RepoWatcher::find(const std::string& name) const {
  auto it = repos_.find(name);
  return it == repos_.end() ? nullptr : &it->second.config;
}

RepoWatcher::Repo* RepoWatcher::repo(const std::string& name) {
  auto it = repos_.find(name);
  return it == repos_.end() ? nullptr : &it->second;
}

std::vector<RepoStatus> RepoWatcher::status() const {
  std::vector<RepoStatus> out;
  for (const auto& [name, r] : repos_) out.push_back(r.status);
  return out;
}

void RepoWatcher::start() {
  started_ = true;
  for (auto& [name, r] : repos_) {
    r.status.heads = store_.runs().repo_heads(name);
    r.have_heads = !r.status.heads.empty();
    fetch(r);
  }
  arm_minute_timer();
}

void RepoWatcher::stop() {
  started_ = false;
  *alive_ = false;
  alive_ = std::make_shared<bool>(true);
  for (auto& [name, r] : repos_) {
    if (r.timer) loop_.cancel_timer(r.timer);
    r.timer = 0;
    r.busy = false;
  }
  if (minute_timer_) loop_.cancel_timer(minute_timer_);
  minute_timer_ = 0;
}

std::string RepoWatcher::reconfigure(const std::vector<RepositoryConfig>& repos) {
  std::string added, removed, changed;
  auto note = [](std::string& list, const std::string& name) {
    if (!list.empty()) list += ", ";
    list += name;
  };
  std::map<std::string, const RepositoryConfig*> next;
  for (const RepositoryConfig& c : repos) next[c.name] = &c;
  for (auto it = repos_.begin(); it != repos_.end();) {
    if (next.count(it->first)) {
      ++it;
      continue;
    }
    if (it->second.timer) loop_.cancel_timer(it->second.timer);
    note(removed, it->first);
    it = repos_.erase(it);
  }
  for (const auto& [name, config] : next) {
    auto [it, is_new] = repos_.try_emplace(name);
    Repo& r = it->second;
    if (!is_new && r.config == *config) continue;
    note(is_new ? added : changed, name);
    if (!is_new && r.config.url != config->url) {
      // Another repository under the same name: its history starts over.
      r.triggers.clear();
      r.status = RepoStatus{};
    }
    r.config = *config;
    r.status.name = name;
    r.status.url = config->url;
    if (is_new) {
      r.status.heads = store_.runs().repo_heads(name);
      r.have_heads = !r.status.heads.empty();
    }
    if (started_) fetch(r);  // fetch with the new settings now
  }
  std::string out;
  for (const auto& [what, list] : {std::pair<const char*, const std::string*>{"added", &added},
                                   {"removed", &removed},
                                   {"changed", &changed}}) {
    if (list->empty()) continue;
    if (!out.empty()) out += "; ";
    out += std::string(what) + ": " + *list;
  }
  if (!out.empty()) log::info("repos", "reconfigured", {{"changes", out}});
  return out;
}

bool RepoWatcher::fetch_now(const std::string& name) {
  Repo* r = repo(name);
  if (!r) return false;
  fetch(*r);
  return true;
}

void RepoWatcher::schedule(Repo& r, int64_t delay_ms) {
  if (r.timer) loop_.cancel_timer(r.timer);
  r.timer = 0;
  if (delay_ms < 0) return;
  r.status.next_fetch_at = hooks_.now_ms() + delay_ms;
  const std::string name = r.config.name;
  r.timer = loop_.call_after(std::chrono::milliseconds(delay_ms), [this, name] {
    if (Repo* rr = repo(name)) {
      rr->timer = 0;
      fetch(*rr);
    }
  });
}

void RepoWatcher::fetch(Repo& r) {
  if (r.busy) {
    r.again = true;
    return;
  }
  schedule(r, -1);
  r.busy = true;
  r.status.last_fetch_at = hooks_.now_ms();
  r.status.next_fetch_at = 0;
  const std::string name = r.config.name;
  std::weak_ptr<bool> alive = alive_;
  bool queued =
      workers_.fetch_refs(r.config.url, [this, alive, name](const git::FetchResult& result) {
        if (auto a = alive.lock(); a && *a) on_fetched(name, result);
      });
  if (!queued) {
    r.busy = false;
    schedule(r, kBusyRetryMs);
  }
}

void RepoWatcher::on_fetched(const std::string& name, const git::FetchResult& result) {
  Repo* rp = repo(name);
  if (!rp) return;
  Repo& r = *rp;
  if (!result.ok) {
    ++r.status.failures;
    if (r.status.last_error != result.error)
      log::warn("repos", "fetch.failed", {{"repo", name}, {"error", result.error}});
    r.status.last_error = result.error;
    finish_round(r);
    return;
  }
  if (r.status.failures > 0) log::info("repos", "fetch.recovered", {{"repo", name}});
  r.status.failures = 0;
  r.status.last_error.clear();
  r.status.last_success_at = hooks_.now_ms();
  r.status.default_branch = result.default_branch;

  std::map<std::string, std::string> heads;
  r.all_refs.clear();
  for (const git::RefHead& h : result.heads) {
    if (heads.size() < kMaxWatchedRefs && watched(r.config, h.name)) heads[h.name] = h.commit;
    if (r.all_refs.size() < kMaxKnownRefs) r.all_refs.insert(h.name);
  }
  // Past the bound nothing can be said about a ref that is not listed.
  r.listed = result.heads.size() <= kMaxKnownRefs;
  std::vector<Item> items;
  const bool baseline = !r.have_heads;
  for (const auto& [ref, commit] : heads) {
    auto old = r.status.heads.find(ref);
    bool moved = old == r.status.heads.end() || old->second != commit;
    bool stale_triggers =
        starts_with(ref, kHeads) && (!r.triggers.count(ref) || r.triggers[ref].commit != commit);
    if ((moved && !baseline) || stale_triggers) {
      items.push_back({ref, commit, moved && !baseline,
                       old == r.status.heads.end() ? std::string() : old->second});
    }
  }
  for (const auto& [ref, commit] : r.status.heads) {
    if (!heads.count(ref)) {
      log::info("repos", "ref.deleted", {{"repo", name}, {"ref", ref}});
      r.triggers.erase(ref);
    }
  }
  if (heads != r.status.heads || baseline) {
    if (!store_.runs().set_repo_heads(name, heads))
      log::error("repos", "heads.store_failed", {{"repo", name}});
    if (baseline)
      log::info("repos", "baseline", {{"repo", name}, {"refs", std::to_string(heads.size())}});
  }
  r.status.heads = std::move(heads);
  r.have_heads = true;
  r.pending = static_cast<int>(items.size());
  for (const Item& item : items) resolve(r, item, "push");
  if (items.empty()) finish_round(r);
}

void RepoWatcher::resolve(Repo& r, const Item& item, const std::string& trigger) {
  ResolveRequest req;
  req.url = r.config.url;
  req.ref = item.commit;
  // The default name keeps its .gantry.yml fallback.
  if (r.config.pipeline != "Jenkinsfile") req.file = r.config.pipeline;
  req.fetch = false;
  // Only a run needs its change range; reading triggers does not.
  // The range counts from the branch's last run, else from the head seen
  // before this push (a branch never built).
  req.base_commit = item.commit;
  if (item.start) {
    req.base_commit = hooks_.base_commit(job_name(r.config.name, item.ref));
    if (req.base_commit.empty()) req.base_commit = item.previous;
  }
  const std::string name = r.config.name;
  std::weak_ptr<bool> alive = alive_;
  bool queued =
      workers_.resolve(req, [this, alive, name, item, trigger](const ResolvedPipeline& p) {
        if (auto a = alive.lock(); a && *a) on_resolved(name, item, trigger, p);
      });
  if (!queued) {
    log::warn("repos", "resolve.busy", {{"repo", name}, {"ref", item.ref}});
    on_resolved(name, item, trigger,
                ResolvedPipeline{false, "the controller's git workers are busy"});
  }
}

void RepoWatcher::on_resolved(const std::string& name, const Item& item, const std::string& trigger,
                              const ResolvedPipeline& p) {
  Repo* rp = repo(name);
  if (!rp) return;
  Repo& r = *rp;
  if (starts_with(item.ref, kHeads) && r.status.heads.count(item.ref) &&
      r.status.heads[item.ref] == item.commit)
    read_triggers(r, item.ref, p);
  if (item.start) {
    log::info("repos", "run.requested",
              {{"repo", name}, {"ref", item.ref}, {"commit", item.commit}, {"trigger", trigger}});
    hooks_.start_run(RepoTrigger{name, r.config.url, item.ref, job_name(name, item.ref), trigger, p,
                                 item.upstream_run});
  }
  // Cron runs are not part of a fetch round.
  if (trigger == "push" && --r.pending == 0) finish_round(r);
}

void RepoWatcher::finish_round(Repo& r) {
  r.busy = false;
  if (r.again) {
    r.again = false;
    fetch(r);
    return;
  }
  int64_t poll = r.config.poll_ms;
  if (r.status.failures > 0) {
    // Exponential backoff from the poll interval (1 s at least), capped,
    // with "equal jitter" so a fleet of mirrors does not retry in step.
    int64_t base = std::max<int64_t>(poll, 1000);
    int64_t delay = std::min(kMaxBackoffMs, base << std::min(r.status.failures, 4));
    delay = std::max<int64_t>(base, delay);
    std::uniform_int_distribution<int64_t> half(delay / 2, delay);
    schedule(r, half(rng_));
    return;
  }
  if (poll > 0) schedule(r, poll);
}

namespace {

// hudson.model.Result.UNSTABLE, 'UNSTABLE', "unstable" -> "UNSTABLE".
std::string threshold_name(const pipelines::Node& n) {
  std::string text = n.kind == pipelines::NodeKind::String ? n.text : pipelines::to_source(n);
  text = text.substr(text.rfind('.') == std::string::npos ? 0 : text.rfind('.') + 1);
  for (char& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return text;
}

int result_rank(const std::string& r) {  // worse is higher, as Jenkins orders Result
  if (r == "SUCCESS") return 0;
  if (r == "UNSTABLE") return 1;
  if (r == "FAILURE") return 2;
  if (r == "NOT_BUILT") return 3;
  return 4;  // ABORTED
}

void read_upstream(const pipelines::Trigger& trig, std::vector<std::string>& upstream,
                   std::string& threshold) {
  for (const auto& arg : trig.raw.named) {
    if (!arg.value) continue;
    if (arg.name == "threshold") threshold = threshold_name(*arg.value);
    if (arg.name != "upstreamProjects" || arg.value->kind != pipelines::NodeKind::String) continue;
    const std::string& list = arg.value->text;
    for (size_t start = 0; start <= list.size() && upstream.size() < 100;) {
      size_t end = list.find(',', start);
      if (end == std::string::npos) end = list.size();
      std::string name = list.substr(start, end - start);
      name.erase(0, name.find_first_not_of(" \t"));
      name.erase(name.find_last_not_of(" \t/") + 1);
      while (name.starts_with("/")) name.erase(0, 1);
      if (!name.empty()) upstream.push_back(name);
      start = end + 1;
    }
  }
}

}  // namespace

void RepoWatcher::read_triggers(Repo& r, const std::string& ref, const ResolvedPipeline& p) {
  RefTriggers t;
  t.commit = p.commit.empty() ? r.status.heads[ref] : p.commit;
  if (p.ok) {
    auto loaded = pipelines::load_pipeline(p.source, p.format == "yaml"
                                                         ? pipelines::SourceFormat::Yaml
                                                         : pipelines::SourceFormat::Jenkinsfile);
    if (loaded.pipeline) {
      for (const pipelines::Trigger& trig : loaded.pipeline->triggers) {
        if (trig.type == "upstream") {
          read_upstream(trig, t.upstream, t.threshold);
          continue;
        }
        if (trig.type != "cron" && trig.type != "pollSCM") continue;
        std::string text = trig.spec;
        const pipelines::Node* expr =
            !trig.raw.args.empty()
                ? trig.raw.args[0].get()
                : (!trig.raw.named.empty() ? trig.raw.named[0].value.get() : nullptr);
        if (text.empty() && expr && expr->kind != pipelines::NodeKind::String) {
          // cron(env.BRANCH_NAME == 'main' ? '@daily' : ''): Groovy, per branch.
          pipelines::EvalContext ctx;
          std::string branch =
              starts_with(ref, kHeads) ? ref.substr(std::string_view(kHeads).size()) : ref;
          ctx.env = {{"BRANCH_NAME", branch},
                     {"GIT_BRANCH", branch},
                     {"JOB_NAME", job_name(r.config.name, ref)}};
          pipelines::EvalResult v =
              pipelines::groovy::evaluate_for_controller(loaded.tree, *expr, ctx, "");
          if (auto* e = std::get_if<pipelines::EvalError>(&v)) {
            log::warn("repos", "trigger.eval_failed",
                      {{"repo", r.config.name}, {"ref", ref}, {"error", e->message}});
            continue;
          }
          text = std::get<pipelines::Value>(v).to_string();
          if (std::get<pipelines::Value>(v).is_null()) text.clear();
        }
        if (text.empty()) continue;  // '' turns the trigger off (Jenkins' idiom per branch)
        auto spec = pipelines::parse_cron(text, job_name(r.config.name, ref));
        if (auto* s = std::get_if<pipelines::CronSpec>(&spec)) {
          (trig.type == "cron" ? t.cron : t.poll).push_back(std::move(*s));
        }
      }
    }
  }
  r.triggers[ref] = std::move(t);
}

void RepoWatcher::upstream_finished(const std::string& job, const std::string& result,
                                    int64_t run_id) {
  if (result.empty()) return;
  for (auto& [name, r] : repos_) {
    for (const auto& [ref, trig] : r.triggers) {
      if (result_rank(result) > result_rank(trig.threshold)) continue;
      bool named = std::any_of(trig.upstream.begin(), trig.upstream.end(), [&](const auto& u) {
        // "app/main", or "app" for its default branch; a branch job's own name otherwise.
        std::string as_job = repos_.count(u) ? job_name(u, full_ref(u, "")) : u;
        std::string decoded;
        for (size_t i = 0; i < as_job.size(); ++i) {
          if (as_job.compare(i, 3, "%2F") == 0 || as_job.compare(i, 3, "%2f") == 0) {
            decoded += '/';
            i += 2;
          } else {
            decoded += as_job[i];
          }
        }
        return as_job == job || decoded == job;
      });
      if (!named) continue;
      auto head = r.status.heads.find(ref);
      if (head == r.status.heads.end()) continue;
      log::info("repos", "upstream.fired", {{"repo", name}, {"ref", ref}, {"upstream", job}});
      Item item{ref, head->second, true};
      item.upstream_run = run_id;
      resolve(r, item, "upstream");
    }
  }
}

void RepoWatcher::arm_minute_timer() {
  // A little past the next minute, so the minute read is the new one.
  int64_t now = hooks_.now_ms();
  int64_t delay = 60000 - now % 60000 + 50;
  minute_timer_ = loop_.call_after(std::chrono::milliseconds(delay), [this] {
    minute_timer_ = 0;
    on_minute();
    arm_minute_timer();
  });
}

void RepoWatcher::on_minute() {
  const auto t = std::chrono::sys_seconds(std::chrono::seconds(hooks_.now_ms() / 60000 * 60));
  auto fires = [&](const pipelines::CronSpec& spec) { return pipelines::fires_at(spec, t); };
  for (auto& [name, r] : repos_) {
    bool poll = false;
    for (const auto& [ref, trig] : r.triggers) {
      poll = poll || std::any_of(trig.poll.begin(), trig.poll.end(), fires);
      if (!std::any_of(trig.cron.begin(), trig.cron.end(), fires)) continue;
      auto head = r.status.heads.find(ref);
      if (head == r.status.heads.end()) continue;
      log::info("repos", "cron.fired", {{"repo", name}, {"ref", ref}});
      resolve(r, Item{ref, head->second, true}, "cron");
    }
    if (poll) fetch(r);
  }
}

}  // namespace gantry::controller
