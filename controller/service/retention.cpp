// The retention service: which runs, logs and artifacts go (Jenkins'
// LogRotator rules over the store's runs), in bounded slices.
#include "service/retention.hpp"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <limits>

#include "gantry/common/log.hpp"
#include "gantry/pipelines/loader.hpp"

namespace gantry::controller {
namespace fs = std::filesystem;
using pipelines::BuildDiscarder;

namespace {

constexpr size_t kPage = 64;          // runs read per query while scanning a job
constexpr size_t kDiscarderRuns = 5;  // newest finished runs looked at for a job's discarder

// When a run's age counts from: its end (its creation if it never started).
int64_t ended_at(const RetentionStore::RetentionRun& r) {
  return r.finished_at ? r.finished_at : r.created_at;
}

// `now - age`, or the lowest time when there is no limit (nothing is older).
int64_t cutoff(int64_t now, int64_t age_ms) {
  if (age_ms == RetentionLimits::kUnlimited) return std::numeric_limits<int64_t>::min();
  return now - age_ms;
}

int64_t days_ms(int64_t days) {
  return days < 0 ? RetentionLimits::kUnlimited : days * RetentionConfig::kDayMs;
}

std::string discarder_of(const RetentionStore::RunDiscarder& r) {
  auto format = r.pipeline_format == "yaml" ? pipelines::SourceFormat::Yaml
                                            : pipelines::SourceFormat::Jenkinsfile;
  pipelines::LoadResult loaded = pipelines::load_pipeline(r.pipeline_source, format);
  if (!loaded.pipeline) return "invalid";
  return encode_discarder(pipelines::build_discarder(*loaded.pipeline));
}

int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

RetentionLimits retention_limits(const RetentionConfig& config,
                                 const std::optional<BuildDiscarder>& discarder) {
  RetentionLimits l;
  if (!discarder) {
    l.keep_last = config.keep_last;
    l.runs_ms = config.runs_ms;
    l.logs_ms = config.logs_ms;
    l.artifacts_ms = config.artifacts_ms;
    return l;
  }
  l.keep_last = discarder->num_to_keep;
  l.runs_ms = days_ms(discarder->days_to_keep);
  l.artifacts_keep_last = discarder->artifact_num_to_keep;
  l.artifacts_ms = days_ms(discarder->artifact_days_to_keep);
  return l;
}

std::string encode_discarder(const std::optional<BuildDiscarder>& d) {
  if (!d) return "none";
  return "logRotator num=" + std::to_string(d->num_to_keep) +
         " days=" + std::to_string(d->days_to_keep) +
         " artifact_num=" + std::to_string(d->artifact_num_to_keep) +
         " artifact_days=" + std::to_string(d->artifact_days_to_keep);
}

bool decode_discarder(const std::string& text, std::optional<BuildDiscarder>& out) {
  out.reset();
  if (text == "none") return true;
  long long n = 0, days = 0, an = 0, ad = 0;
  int used = 0;
  if (std::sscanf(text.c_str(),
                  "logRotator num=%lld days=%lld artifact_num=%lld artifact_days=%lld%n", &n, &days,
                  &an, &ad, &used) != 4 ||
      static_cast<size_t>(used) != text.size()) {
    return false;
  }
  for (long long v : {n, days, an, ad}) {
    if (v < -1) return false;
  }
  out = BuildDiscarder{n, days, an, ad};
  return true;
}

// What one slice may still do.
struct Retention::Budget {
  size_t runs;
  int64_t deadline;
  bool left() const { return runs > 0 && steady_ms() < deadline; }
};

Retention::Retention(Store& store, RetentionConfig config, Clock clock, RetentionOptions options)
    : store_(store), config_(config), clock_(std::move(clock)), options_(std::move(options)) {
  if (!options_.remove_tree) {
    options_.remove_tree = [](const std::string& path) {
      std::error_code ec;
      fs::remove_all(path, ec);
      return ec;
    };
  }
}

void Retention::tick() {
  const int64_t now = clock_();
  bool due = now >= next_at_;
  if (!due && now >= next_check_) {
    next_check_ = now + options_.check_ms;
    // Runs created or ended change what keep_last and the kept runs allow:
    // look soon rather than at the next idle pass.
    due = store_.retention().run_activity() != activity_;
  }
  if (!due) return;
  Slice s = run_slice();
  activity_ = store_.retention().run_activity();  // after the slice: its own deletions are no news
  next_check_ = now + options_.check_ms;
  next_at_ = now + (s.more ? options_.backlog_ms : options_.idle_ms);
}

Retention::Slice Retention::run_slice() {
  Budget b{options_.max_runs, steady_ms() + options_.budget_ms};
  Slice s;
  const bool stuck = finish_pending(b, s) > 0;
  const std::vector<int64_t> in_use = store_.retention().runs_in_use();
  in_use_ = std::set<int64_t>(in_use.begin(), in_use.end());
  bool pass_done = prune_jobs(b, s);
  if (config_.events != RetentionConfig::kUnlimited) {
    s.events = store_.events().prune_events_bounded(config_.events, options_.max_events);
  }
  // Marks whose files would not go again wait for the idle pass, not 250 ms.
  s.more = !pass_done || s.events >= options_.max_events ||
           (!stuck && !store_.retention().pending_prunes(1).empty());
  if (s.runs || s.logs || s.artifacts || s.events) {
    log::info("retention", "pruned",
              {{"runs", std::to_string(s.runs)},
               {"logs", std::to_string(s.logs)},
               {"artifacts", std::to_string(s.artifacts)},
               {"events", std::to_string(s.events)},
               {"more", s.more ? "true" : "false"}});
  }
  return s;
}

// Deletions a crash (or a file that would not go) interrupted: the files
// again, then the rows. Returns how many are still stuck.
int Retention::finish_pending(Budget& b, Slice& s) {
  int stuck = 0;
  std::vector<int64_t> ids;
  for (auto [id, what] : store_.retention().pending_prunes(b.runs)) {
    ids.clear();
    ids.push_back(id);
    int done = apply(ids, what);
    stuck += done == 0;
    if (what & RetentionStore::kPruneRun) {
      s.runs += done;
    } else {
      if (what & RetentionStore::kPruneLogs) s.logs += done;
      if (what & RetentionStore::kPruneArtifacts) s.artifacts += done;
    }
    b.runs -= std::min<size_t>(b.runs, 1);
  }
  return stuck;
}

bool Retention::prune_jobs(Budget& b, Slice& s) {
  while (b.left()) {
    if (!job_) {
      std::string next = store_.retention().next_job_name(last_job_);
      if (next.empty()) {
        last_job_.clear();  // the next pass starts from the first job
        return true;
      }
      job_ = next;
    }
    if (!prune_job(*job_, b, s)) return false;
    last_job_ = *job_;
    job_.reset();
  }
  return false;
}

RetentionLimits Retention::limits_of(const std::string& job) {
  // Jenkins applies the job's current discarder to all its builds: here,
  // the one of its newest finished run whose pipeline loads.
  for (const RetentionStore::RunDiscarder& r :
       store_.retention().run_discarders(job, kDiscarderRuns)) {
    std::string text = r.discarder;
    if (text.empty()) {
      text = discarder_of(r);
      store_.retention().set_run_discarder(r.id, text);
    }
    std::optional<BuildDiscarder> d;
    if (text == "invalid" || !decode_discarder(text, d)) continue;
    return retention_limits(config_, d);
  }
  return retention_limits(config_, std::nullopt);
}

bool Retention::prune_job(const std::string& job, Budget& b, Slice& s) {
  const RetentionLimits lim = limits_of(job);
  const int64_t now = clock_();
  JobState& js = jobs_[job];
  if (int64_t id = store_.retention().newest_good_run(job, false, js.good)) js.good = id;
  if (int64_t id = store_.retention().newest_good_run(job, true, js.good_or_unstable))
    js.good_or_unstable = id;
  std::set<int64_t> keep = in_use_;
  keep.insert(js.good);
  keep.insert(js.good_or_unstable);

  std::vector<int64_t> ids;
  bool complete = true;
  if (lim.keep_last != RetentionLimits::kUnlimited || lim.runs_ms != RetentionLimits::kUnlimited) {
    // Jenkins counts every run of the job, unfinished and kept ones too.
    const int64_t beyond = lim.keep_last == RetentionLimits::kUnlimited
                               ? 0
                               : store_.retention().nth_newest_run(job, lim.keep_last + 1);
    const int64_t before = cutoff(now, lim.runs_ms);
    complete = collect(
        job, 0, keep,
        [&](const RetentionStore::RetentionRun& r) {
          return r.id <= beyond || ended_at(r) < before;
        },
        b, ids);
    s.runs += apply(ids, RetentionStore::kPruneRun);
    if (!complete) return false;
  }
  if (lim.logs_ms != RetentionLimits::kUnlimited) {
    if (!b.left()) return false;
    const int64_t before = cutoff(now, lim.logs_ms);
    complete = collect(
        job, RetentionStore::kPruneLogs, keep,
        [&](const RetentionStore::RetentionRun& r) { return ended_at(r) < before; }, b, ids);
    s.logs += apply(ids, RetentionStore::kPruneLogs);
    if (!complete) return false;
  }
  if (lim.artifacts_keep_last != RetentionLimits::kUnlimited ||
      lim.artifacts_ms != RetentionLimits::kUnlimited) {
    if (!b.left()) return false;
    const int64_t beyond =
        lim.artifacts_keep_last == RetentionLimits::kUnlimited
            ? 0
            : store_.retention().nth_newest_run(job, lim.artifacts_keep_last + 1);
    const int64_t before = cutoff(now, lim.artifacts_ms);
    complete = collect(
        job, RetentionStore::kPruneArtifacts, keep,
        [&](const RetentionStore::RetentionRun& r) {
          return r.id <= beyond || ended_at(r) < before;
        },
        b, ids);
    s.artifacts += apply(ids, RetentionStore::kPruneArtifacts);
  }
  return complete;
}

bool Retention::collect(const std::string& job, int still_having, const std::set<int64_t>& keep,
                        const std::function<bool(const RetentionStore::RetentionRun&)>& doomed,
                        Budget& b, std::vector<int64_t>& out) {
  out.clear();
  int64_t after = 0;
  for (;;) {
    std::vector<RetentionStore::RetentionRun> page =
        store_.retention().retention_runs(job, after, still_having, kPage);
    for (const RetentionStore::RetentionRun& r : page) {
      after = r.id;
      if (!is_finished(r.status) || keep.count(r.id)) continue;
      // Oldest first: the first run kept ends the scan (LogRotator's
      // "still new"), so a pass reads few runs a job keeps.
      if (!doomed(r)) return true;
      out.push_back(r.id);
      if (--b.runs == 0) return false;
    }
    if (page.size() < kPage) return true;
    if (!b.left()) return false;
  }
}

int Retention::apply(const std::vector<int64_t>& ids, int what) {
  if (ids.empty()) return 0;
  if (!store_.retention().mark_prune(ids, what)) {
    log::error("retention", "mark.failed", {{"runs", std::to_string(ids.size())}});
    return 0;
  }
  std::vector<int64_t> gone;
  for (int64_t id : ids) {
    std::error_code ec;
    if (what & (RetentionStore::kPruneRun | RetentionStore::kPruneLogs))
      ec = options_.remove_tree(store_.run_logs_dir(id));
    if (!ec && (what & (RetentionStore::kPruneRun | RetentionStore::kPruneArtifacts))) {
      ec = options_.remove_tree(store_.run_artifacts_dir(id));
    }
    if (ec) {
      // Stays marked: the next slice tries again.
      log::warn("retention", "files.not_deleted",
                {{"run", std::to_string(id)}, {"error", ec.message()}});
      continue;
    }
    gone.push_back(id);
  }
  if (!store_.retention().finish_prune(gone)) {
    log::error("retention", "finish.failed", {{"runs", std::to_string(gone.size())}});
    return 0;
  }
  return static_cast<int>(gone.size());
}

}  // namespace gantry::controller
