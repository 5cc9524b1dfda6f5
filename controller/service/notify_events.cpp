// What people hear of GMUDs, canaries and failed runs, made from the records the services emit.
#include "service/notify_events.hpp"

#include <ctime>

#include "service/approvals_json.hpp"
#include "service/releases_json.hpp"
#include "store/store.hpp"

namespace gantry::controller {
namespace {

constexpr size_t kMaxChangesListed = 20;
constexpr size_t kMaxReason = 2000;

std::string utc(int64_t ms) {
  if (ms <= 0) return "";
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

std::string iso(int64_t ms) {
  if (ms <= 0) return "";
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string clip(const std::string& s, size_t n) {
  return s.size() <= n ? s : s.substr(0, n) + "...";
}

std::string first_line(const std::string& s) {
  return clip(s.substr(0, s.find('\n')), 100);
}

// "Key:         value" lines, skipping empty values.
class Lines {
 public:
  void add(const std::string& key, const std::string& value) {
    if (value.empty()) return;
    std::string k = key + ":";
    if (k.size() < 15) k.resize(15, ' ');
    text_ += k + " " + value + "\n";
  }
  void raw(const std::string& text) { text_ += text; }
  const std::string& text() const { return text_; }

 private:
  std::string text_;
};

std::string run_word(int64_t run_id) {
  return "run " + std::to_string(run_id);
}

std::string repo_of(const RunRecord* run) {
  if (!run) return "";
  return run->repo_name.empty() ? run->job_name : run->repo_name;
}

}  // namespace

NotifyEvent gmud_event(const ApprovalRecord& a) {
  const std::string name = approval_name(a);
  const std::string what = (a.repo.empty() ? std::string("a deploy") : a.repo) + " to " +
                           a.environment + " (" + run_word(a.run_id) + ")";
  NotifyEvent e;
  e.link = "/#/approvals/" + name;
  Lines l;
  switch (a.status) {
    case ApprovalStatus::Pending:
      e.event = "gmud.opened";
      e.subject = name + " needs approval: " + what;
      e.color = "warning";
      l.raw(name + " asks for approval to deploy " + what + ".\n\n");
      break;
    case ApprovalStatus::Approved:
      e.event = "gmud.approved";
      e.subject = name + " approved: " + what;
      e.color = "good";
      l.raw(name + " was approved: the deploy of " + what + " may go on.\n\n");
      break;
    case ApprovalStatus::Rejected:
      e.event = "gmud.rejected";
      e.subject = name + " rejected: " + what;
      e.color = "danger";
      l.raw(clip(a.reason, kMaxReason) + "\n\n");
      break;
    case ApprovalStatus::Expired:
      e.event = "gmud.expired";
      e.subject = name + " expired: " + what;
      e.color = "danger";
      l.raw(clip(a.reason, kMaxReason) + "\n\n");
      break;
    default:
      return e;  // cancelled: not an event people subscribe to
  }
  l.add("Request", name);
  l.add("Run", std::to_string(a.run_id));
  l.add("Repository", a.repo);
  l.add("Environment", a.environment);
  l.add("Stage", a.stage_id);
  l.add("Commit", a.commit);
  std::string range;
  if (!a.range_unknown.empty()) {
    range = "not known in full: " + a.range_unknown;
  } else {
    range = std::to_string(a.changes.size()) + " commit" + (a.changes.size() == 1 ? "" : "s") +
            " not yet in " + a.environment +
            (a.base_release ? " (since R-" + std::to_string(a.base_release) + ")" : "");
  }
  l.add("Range", range);
  l.add("Title", clip(a.title, 500));
  l.add("Impact", clip(a.impact, 1000));
  l.add("Rollback plan", clip(a.rollback_plan, 1000));
  l.add("Approvals",
        std::to_string(a.decisions.size()) + " given, " + std::to_string(a.required) + " needed");
  for (const DecisionRecord& d : a.decisions)
    l.add(d.approve ? "Approved by" : "Rejected by",
          d.user + (d.comment.empty() ? "" : ": " + clip(d.comment, 500)));
  l.add("Triggered by", a.triggered_by);
  l.add("Requested", utc(a.requested_at));
  l.add("Expires", a.expires_at ? utc(a.expires_at) : std::string("never"));
  if (!a.changes.empty()) {
    l.raw("\nChanges:\n");
    for (size_t i = 0; i < a.changes.size() && i < kMaxChangesListed; ++i) {
      const ChangeRecord& c = a.changes[i];
      l.raw("  " + c.sha.substr(0, 10) + " " + c.author +
            (c.author_email.empty() ? "" : " <" + c.author_email + ">") + ": " +
            first_line(c.message) + "\n");
    }
    if (a.changes.size() > kMaxChangesListed)
      l.raw("  and " + std::to_string(a.changes.size() - kMaxChangesListed) + " more\n");
  }
  if (a.status == ApprovalStatus::Pending)
    l.raw("\nApprove: gantry approve " + name + " --comment WHY\nReject:  gantry reject " + name +
          " --comment WHY\n");
  e.text = l.text();
  e.fields = {{"gmud", name},
              {"status", std::string(to_string(a.status))},
              {"run", std::to_string(a.run_id)},
              {"stage", a.stage_id},
              {"environment", a.environment},
              {"repository", a.repo},
              {"commit", a.commit},
              {"commits", a.range_unknown.empty() ? std::to_string(a.changes.size()) : ""},
              {"requested_at", iso(a.requested_at)},
              {"expires_at", iso(a.expires_at)}};
  return e;
}

NotifyEvent input_event(const ApprovalRecord& a, const RunRecord* run) {
  const std::string name = approval_name(a);
  NotifyEvent e;
  e.event = "input.opened";
  e.color = "warning";
  const std::string repo = run ? repo_of(run) : a.repo;
  e.subject = name + " waits for input: " + first_line(a.message) + " (" +
              (repo.empty() ? "" : repo + ", ") + run_word(a.run_id) + ")";
  e.link = "/#/approvals/" + name;
  Lines l;
  l.raw(clip(a.message, kMaxReason) + "\n\n");
  l.add("Request", name);
  l.add("Run", run ? std::to_string(a.run_id) + " (" + run->job_name + " #" +
                         std::to_string(run->number) + ")"
                   : std::to_string(a.run_id));
  l.add("Repository", repo);
  l.add("Stage", a.stage_id);
  l.add("Commit", a.commit);
  l.add("Who may answer", a.submitter.empty() ? "anyone who may trigger runs" : a.submitter);
  l.add("Requested", utc(a.requested_at));
  l.raw("\nProceed: gantry approve " + name + " [-p NAME=VALUE]...\nAbort:   gantry reject " +
        name + " --comment WHY\n");
  e.text = l.text();
  e.fields = {{"input", name},
              {"status", std::string(to_string(a.status))},
              {"run", std::to_string(a.run_id)},
              {"stage", a.stage_id},
              {"repository", repo},
              {"commit", a.commit},
              {"message", clip(a.message, kMaxReason)},
              {"submitter", a.submitter},
              {"requested_at", iso(a.requested_at)}};
  return e;
}

NotifyEvent pause_event(const StageRecord& s, const ReleaseRecord* r, const RunRecord* run) {
  NotifyEvent e;
  e.event = "canary.paused";
  e.color = "warning";
  const std::string release = r                                   ? release_name(r->id)
                              : s.gate_values.count("RELEASE_ID") ? s.gate_values.at("RELEASE_ID")
                                                                  : std::string();
  const std::string repo = r ? r->repo : repo_of(run);
  const std::string env = r ? r->environment : "";
  e.subject = "Canary " + (release.empty() ? s.stage_id : release) +
              (repo.empty() ? "" : " of " + repo) + (env.empty() ? "" : " in " + env) +
              " is paused (" + run_word(s.run_id) + ")";
  e.link = "/#/runs/" + std::to_string(s.run_id);
  Lines l;
  l.raw(clip(s.reason, kMaxReason) + "\n\n");
  l.add("Release", release);
  l.add("Run", std::to_string(s.run_id));
  l.add("Repository", repo);
  l.add("Environment", env);
  l.add("Stage", s.stage_id);
  l.add("Commit", r ? r->commit : run ? run->commit : "");
  if (!release.empty())
    l.raw("\nPromote: gantry promote " + release + "\nAbort:   gantry abort " + release + "\n");
  e.text = l.text();
  e.fields = {{"release", release},
              {"run", std::to_string(s.run_id)},
              {"stage", s.stage_id},
              {"environment", env},
              {"repository", repo},
              {"reason", clip(s.reason, kMaxReason)},
              {"commit", r     ? r->commit
                         : run ? run->commit
                               : ""}};
  return e;
}

NotifyEvent rollback_event(const ReleaseRecord& r, const RunRecord* run) {
  NotifyEvent e;
  e.event = "canary.rolled_back";
  e.color = "danger";
  const std::string name = release_name(r.id);
  e.subject = name + " of " + r.repo + " in " + r.environment + " was rolled back (" +
              run_word(r.run_id) + ")";
  e.link = "/#/runs/" + std::to_string(r.rollback_run ? r.rollback_run : r.run_id);
  Lines l;
  l.raw(clip(r.reason, kMaxReason) + "\n\n");
  l.add("Release", name);
  l.add("Strategy", r.strategy);
  l.add("Run", std::to_string(r.run_id));
  if (r.rollback_run) l.add("Rollback run", std::to_string(r.rollback_run));
  l.add("Repository", r.repo);
  l.add("Environment", r.environment);
  l.add("Stage", r.stage_id);
  l.add("Commit", r.commit);
  l.add("Now current", r.previous ? release_name(r.previous) : std::string("no release"));
  l.add("Rolled back by", r.rolled_back_by);
  if (run && !run->reason.empty()) l.add("Run status", std::string(to_string(run->status)));
  e.text = l.text();
  e.fields = {{"release", name},
              {"run", std::to_string(r.run_id)},
              {"stage", r.stage_id},
              {"environment", r.environment},
              {"repository", r.repo},
              {"commit", r.commit},
              {"strategy", r.strategy},
              {"reason", clip(r.reason, kMaxReason)},
              {"previous", r.previous ? release_name(r.previous) : ""}};
  return e;
}

NotifyEvent run_failed_event(const RunRecord& run) {
  NotifyEvent e;
  e.event = "run.failed";
  e.color = "danger";
  const std::string repo = repo_of(&run);
  e.subject = "Run " + std::to_string(run.id) + " of " + repo + " failed" +
              (run.reason.empty() ? "" : ": " + first_line(run.reason));
  e.link = "/#/runs/" + std::to_string(run.id);
  Lines l;
  l.add("Run",
        std::to_string(run.id) + " (" + run.job_name + " #" + std::to_string(run.number) + ")");
  l.add("Repository", repo);
  l.add("Ref", run.ref);
  l.add("Commit", run.commit);
  l.add("Author", run.author);
  l.add("Trigger", run.trigger);
  l.add("Reason", clip(run.reason, kMaxReason));
  e.text = l.text();
  e.fields = {{"run", std::to_string(run.id)},
              {"number", std::to_string(run.number)},
              {"job", run.job_name},
              {"repository", repo},
              {"ref", run.ref},
              {"commit", run.commit},
              {"reason", clip(run.reason, kMaxReason)}};
  return e;
}

bool NotifyingEvents::first_time(const std::string& what) {
  if (!told_.insert(what).second) return false;
  told_order_.push_back(what);
  while (told_order_.size() > kMaxTold) {
    told_.erase(told_order_.front());
    told_order_.pop_front();
  }
  return true;
}

std::optional<RunRecord> NotifyingEvents::stored_run(int64_t id) {
  auto r = store_.runs().run(id);
  if (!r || !*r) return std::nullopt;
  return std::move(**r);
}

void NotifyingEvents::run(const RunRecord& run) {
  inner_->run(run);
  if (run.status == RunStatus::Failed && first_time("run:" + std::to_string(run.id)))
    notifier_.publish(run_failed_event(run));
}

void NotifyingEvents::stage(const StageRecord& s) {
  inner_->stage(s);
  const CanaryPhase phase = s.rollout.phase;
  if (s.status != RunStatus::Waiting ||
      (phase != CanaryPhase::Promote && phase != CanaryPhase::Inconclusive))
    return;
  const std::string what = "pause:" + std::to_string(s.run_id) + ":" + s.stage_id + ":" +
                           std::to_string(s.rollout.weight) + ":" + std::string(to_string(phase));
  if (!first_time(what)) return;
  std::optional<ReleaseRecord> r = store_.gates().release_of(s.run_id, s.stage_id);
  std::optional<RunRecord> run = stored_run(s.run_id);
  notifier_.publish(pause_event(s, r ? &*r : nullptr, run ? &*run : nullptr));
}

void NotifyingEvents::approval(const ApprovalRecord& a) {
  inner_->approval(a);
  if (a.kind == GateKind::Input) {
    // Told once, when it opens: its answer is the run going on, which the page shows.
    if (a.status != ApprovalStatus::Pending || !first_time("input:" + std::to_string(a.id))) return;
    std::optional<RunRecord> run = stored_run(a.run_id);
    notifier_.publish(input_event(a, run ? &*run : nullptr));
    return;
  }
  if (a.kind != GateKind::Gmud) return;
  NotifyEvent e = gmud_event(a);
  if (e.event.empty() || !first_time("gmud:" + std::to_string(a.id) + ":" + e.event)) return;
  notifier_.publish(e);
}

void NotifyingEvents::release(const ReleaseRecord& r, const std::string& progress) {
  inner_->release(r, progress);
  if (r.status != ReleaseStatus::RolledBack || !first_time("rolled_back:" + std::to_string(r.id)))
    return;
  std::optional<RunRecord> run = stored_run(r.rollback_run ? r.rollback_run : r.run_id);
  notifier_.publish(rollback_event(r, run ? &*run : nullptr));
}

}  // namespace gantry::controller
