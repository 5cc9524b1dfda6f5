// Source steps: `git` (Jenkins' git plugin), `checkout` (scm, a GitSCM map, scmGit(...)) and
// `cleanWs` (ws-cleanup). Checkouts go through the agent's mirror cache (git_cache.hpp) into
// the step's directory; the files become the job user's when the agent has one.
// Extensions: RelativeTargetDirectory, CleanBeforeCheckout/WipeWorkspace, SubmoduleOption
// (each submodule checked out at the commit the tree pins, through the same cache; recursive
// on request, 5 levels at most; parentCredentials reuses the checkout's secret), LocalBranch,
// and CloneOption, whose shallow/depth/reference/noTags the mirror cache makes moot (it holds
// every object once per agent). GitLFSPull fails: libgit2 fetches no LFS objects.
#include <unistd.h>

#include <filesystem>

#include "gantry/git/git_cache.hpp"
#include "step_runner.hpp"
#include "workspace_clean.hpp"

namespace gantry::agent {

using pipelines::Node;
using pipelines::NodeKind;
using pipelines::Result;
using pipelines::Step;

namespace fs = std::filesystem;

struct StepRunner::GitCheckout {
  std::string step;  // "git" or "checkout", for messages
  std::string url, branch, credentials_id;
  std::string target;  // relative to the step's directory; empty: that directory
  bool clean = false;  // empty the target first (CleanBeforeCheckout, WipeWorkspace)
  bool submodules = false, recursive = false, parent_credentials = false;
  std::string local_branch;  // LocalBranch: "**" or "" for the branch checked out
  bool want_local_branch = false;
};

std::string jenkins_branch(std::string_view written) {
  std::string b(written);
  while (!b.empty() && (b.front() == ' ' || b.front() == '\t')) b.erase(0, 1);
  while (!b.empty() && (b.back() == ' ' || b.back() == '\t')) b.pop_back();
  if (b.empty()) return "master";
  for (std::string_view prefix : {"refs/remotes/origin/", "remotes/origin/", "*/", "origin/"}) {
    if (b.size() > prefix.size() && b.starts_with(prefix)) return b.substr(prefix.size());
  }
  return b;
}

namespace {

// A description as written: `[$class: 'GitSCM', k: v]` (a map) or `scmGit(k: v)` (a call).
const Node* field(const Node* d, std::string_view name) {
  if (d == nullptr || (d->kind != NodeKind::Map && d->kind != NodeKind::Call)) return nullptr;
  for (const auto& arg : d->named) {
    if (arg.name == name && arg.value) return arg.value.get();
  }
  return nullptr;
}

// `relativeTargetDirectory('x')`: a call's one positional argument stands for its field.
const Node* field_or_first(const Node* d, std::string_view name) {
  if (const Node* f = field(d, name)) return f;
  if (d != nullptr && d->kind == NodeKind::Call && !d->items.empty()) return d->items[0].get();
  return nullptr;
}

// A list's elements; one value alone is a list of one; null is none.
std::vector<const Node*> elements(const Node* n) {
  std::vector<const Node*> out;
  if (n == nullptr || n->kind == NodeKind::Null) return out;
  if (n->kind != NodeKind::List) return {n};
  for (const auto& item : n->items) {
    if (item && item->kind != NodeKind::Null) out.push_back(item.get());
  }
  return out;
}

std::string text(StepArgs& args, const Node* n) {
  if (n == nullptr) return "";
  auto v = args.eval(*n);
  return v && !v->is_null() ? v->to_string() : "";
}

// "GitSCM" for `[$class: 'hudson.plugins.git.GitSCM']`, "scmGit" for `scmGit(...)`.
std::string class_of(StepArgs& args, const Node* d) {
  if (d == nullptr) return "";
  if (d->kind == NodeKind::Call) return d->text;
  std::string cls = text(args, field(d, "$class"));
  size_t dot = cls.rfind('.');
  return dot == std::string::npos ? cls : cls.substr(dot + 1);
}

bool is_local_url(const std::string& url) {
  return url.starts_with("file:") || url.starts_with("/") || url.starts_with(".") ||
         (url.find("://") == std::string::npos && url.find(':') == std::string::npos);
}

// `path` is `root` or below it.
bool inside(const fs::path& path, const fs::path& root) {
  fs::path rel = path.lexically_normal().lexically_relative(root.lexically_normal());
  return !rel.empty() && *rel.begin() != "..";
}

}  // namespace

StepStatus StepRunner::git_checkout(const GitCheckout& what, const StepScope& scope) {
  const std::string& step = what.step;
  if (job_.git == nullptr) {
    return StepStatus::failure(step + ": this agent has no git mirror cache to check out with");
  }
  if (what.url.empty()) return StepStatus::failure(step + ": no repository url given");
  if (what.branch.find_first_of("*?") != std::string::npos) {
    return StepStatus::failure(step + ": branch patterns ('" + what.branch +
                               "') are not supported: name one branch, tag or commit");
  }
  if (job_.run_as && is_local_url(what.url)) {
    // The agent fetches with its own rights, which the job user does not have.
    return StepStatus::failure(step + ": " + what.url +
                               ": a job user's checkout needs a remote URL, not a local path");
  }
  fs::path dir = fs::path(what.target.empty() ? scope.cwd : resolve(scope, what.target));
  dir = dir.lexically_normal();
  if (!dir.has_filename()) dir = dir.parent_path();
  std::error_code ec;
  if (what.clean && fs::exists(dir, ec)) {
    if (!inside(dir, job_.workspace)) {
      log(step + ": not cleaning " + dir.string() + ": it is outside the workspace");
    } else {
      log(step + ": cleaning " + dir.string() + " before the checkout");
      for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        fs::remove_all(it->path(), ec);
        if (ec) break;
      }
      if (ec)
        return StepStatus::failure(step + ": cannot clean " + dir.string() + ": " + ec.message());
    }
  }
  // The topmost directory the checkout creates, to give to the job user with the files.
  fs::path top = dir;
  while (top.has_parent_path() && top.parent_path() != top && !fs::exists(top.parent_path(), ec))
    top = top.parent_path();
  if (job_.run_as && fs::exists(dir / ".git", ec)) {
    // git refuses a repository another user owns: back to the agent for the checkout.
    std::string error;
    const RunAs agent{static_cast<unsigned>(::geteuid()), static_cast<unsigned>(::getegid())};
    if (!give_tree(dir.string(), agent, error)) return StepStatus::failure(step + ": " + error);
  }
  // credentialsId: the job's credentials of that id (delivered under their scope); none named
  // for the run's own repository: the repository's configured credentials.
  std::string secret;
  if (!what.credentials_id.empty()) {
    auto c = job_.spec.credentials.find(what.credentials_id);
    if (c == job_.spec.credentials.end())
      return StepStatus::failure(step + ": credentials '" + what.credentials_id +
                                 "' were not given to this job");
    secret = c->second;
  } else if (what.url == job_.spec.repo_url) {
    secret = job_.spec.checkout_secret;
  }
  const git::GitCredentials credentials =
      git::make_credentials(secret, job_.spec.known_hosts, job_.spec.git_ca);
  git::CheckoutResult r = job_.git->checkout(what.url, what.branch, dir.string(), &credentials);
  if (!r.ok) {
    std::string message = step + ": ";
    if (r.error.starts_with("resolve ")) {
      message +=
          "no branch, tag or commit '" + what.branch + "' in " + what.url + " (" + r.error + ")";
    } else {
      message += r.error;
    }
    return StepStatus::failure(message);
  }
  log(step + ": checking out " + what.url + " at " + what.branch + " (" + r.commit + ")");
  if (what.want_local_branch) {
    std::string name =
        what.local_branch.empty() || what.local_branch == "**" ? what.branch : what.local_branch;
    const bool sha =
        name.size() == 40 && name.find_first_not_of("0123456789abcdef") == std::string::npos;
    std::string error;
    if (!sha && !job_.git->local_branch(dir.string(), name, error))
      return StepStatus::failure(step + ": " + error);
  }
  if (what.submodules) {
    const git::GitCredentials sub_credentials = git::make_credentials(
        what.parent_credentials ? secret : "", job_.spec.known_hosts, job_.spec.git_ca);
    if (StepStatus st = check_out_submodules(step, what.url, dir.string(), sub_credentials,
                                             what.recursive ? 5 : 1);
        !st.ok)
      return st;
  }
  if (job_.run_as) {
    std::string error;
    if (!give_tree(top.string(), *job_.run_as, error))
      return StepStatus::failure(step + ": " + error);
  }
  return StepStatus{};
}

StepStatus StepRunner::check_out_submodules(const std::string& step, const std::string& url,
                                            const std::string& dir,
                                            const git::GitCredentials& credentials, int levels) {
  std::vector<git::SubmoduleRef> subs;
  std::string error;
  if (!job_.git->submodules(dir, url, subs, error)) return StepStatus::failure(step + ": " + error);
  for (const git::SubmoduleRef& sub : subs) {
    const fs::path into = (fs::path(dir) / sub.path).lexically_normal();
    if (!inside(into, dir))
      return StepStatus::failure(step + ": submodule path '" + sub.path + "' leaves the checkout");
    git::CheckoutResult r = job_.git->checkout(sub.url, sub.commit, into.string(), &credentials);
    if (!r.ok)
      return StepStatus::failure(step + ": submodule " + sub.path + " (" + sub.url +
                                 "): " + r.error);
    log(step + ": submodule " + sub.path + " at " + r.commit);
    if (levels > 1) {
      if (StepStatus st =
              check_out_submodules(step, sub.url, into.string(), credentials, levels - 1);
          !st.ok)
        return st;
    }
  }
  return StepStatus{};
}

// git 'URL' / git url: 'URL', branch: 'main', credentialsId: 'id', changelog: false, poll: false
StepStatus StepRunner::git(const Step& step, const StepScope& scope) {
  StepArgs args(step, context(scope));
  GitCheckout what;
  what.step = "git";
  what.url = args.string("url", 0).value_or("");
  what.branch = jenkins_branch(args.string("branch").value_or(""));
  what.credentials_id = args.string("credentialsId").value_or("");
  args.boolean("changelog", true);  // the run's changes come from its own repository
  args.boolean("poll", true);
  if (!args.ok()) return args.failure();
  return git_checkout(what, scope);
}

// checkout scm; checkout([$class: 'GitSCM', ...]); checkout scmGit(...);
// checkout(scm: [...], changelog: false, poll: false); checkout($class: 'GitSCM', ...)
StepStatus StepRunner::checkout(const Step& step, const StepScope& scope) {
  StepArgs args(step, context(scope));
  const Node* scm = step.arg("scm", 0);
  Node named(NodeKind::Map, step.pos);  // checkout($class: 'GitSCM', ...): the step's own map
  if (scm == nullptr && step.arg("$class", StepArgs::kNamed) != nullptr) {
    for (const auto& arg : step.named) {
      named.named.push_back(pipelines::NamedArg{arg.name, arg.pos, pipelines::clone(*arg.value)});
    }
    scm = &named;
  }
  if (scm != nullptr && scm->kind == NodeKind::Ident && scm->text == "scm") {
    const std::string& commit = job_.spec.commit;
    log("checkout scm: the workspace is already at " +
        (commit.empty() ? "the job's source" : commit));
    return StepStatus{};
  }
  std::string cls = class_of(args, scm);
  if (!args.ok()) return args.failure();
  if (cls.empty()) {
    return StepStatus::failure(
        "checkout: expected scm, [$class: 'GitSCM', ...] or scmGit(...), got " +
        (scm == nullptr ? std::string("nothing") : pipelines::to_source(*scm)));
  }
  if (cls != "GitSCM" && cls != "scmGit") {
    return StepStatus::failure("checkout: only Git is supported (got " + cls + ")");
  }
  GitCheckout what;
  what.step = "checkout";
  std::vector<const Node*> remotes = elements(field(scm, "userRemoteConfigs"));
  if (remotes.size() > 1) log("checkout: only the first of the userRemoteConfigs is used");
  if (!remotes.empty()) {
    what.url = text(args, field(remotes[0], "url"));
    what.credentials_id = text(args, field(remotes[0], "credentialsId"));
  }
  std::vector<const Node*> branches = elements(field(scm, "branches"));
  if (branches.size() > 1) log("checkout: only the first of the branches is checked out");
  std::string branch;
  if (!branches.empty()) {
    branch = branches[0]->kind == NodeKind::Map || branches[0]->kind == NodeKind::Call
                 ? text(args, field_or_first(branches[0], "name"))
                 : text(args, branches[0]);
  }
  if (what.url.empty() && !job_.spec.repo_url.empty()) {
    // [$class: 'GitSCM', branches: scm.branches, userRemoteConfigs: scm.userRemoteConfigs]:
    // the run's own repository, at the run's commit unless a branch is named.
    what.url = job_.spec.repo_url;
    if (branch.empty()) branch = job_.spec.commit;
  }
  what.branch = jenkins_branch(branch);
  if (what.url == job_.spec.repo_url && !job_.spec.commit.empty()) {
    // scm.branches of the run's own repository (its branch, or PR-7): the run's own commit, as
    // Jenkins pins a multibranch job's scm to the revision being built.
    for (const char* var : {"GIT_BRANCH", "BRANCH_NAME"}) {
      auto it = job_.spec.env.find(var);
      if (it != job_.spec.env.end() && !it->second.empty() && it->second == what.branch)
        what.branch = job_.spec.commit;
    }
  }
  for (const Node* ext : elements(field(scm, "extensions"))) {
    std::string name = class_of(args, ext);
    if (name == "RelativeTargetDirectory" || name == "relativeTargetDirectory") {
      what.target = text(args, field_or_first(ext, "relativeTargetDir"));
    } else if (name == "CleanBeforeCheckout" || name == "cleanBeforeCheckout" ||
               name == "WipeWorkspace" || name == "wipeWorkspace") {
      what.clean = true;
    } else if (name == "SubmoduleOption" || name == "submodule") {
      auto flag = [&](const char* key) {
        auto v = field(ext, key) ? args.eval(*field(ext, key)) : std::nullopt;
        return v && v->truthy();
      };
      what.submodules = !flag("disableSubmodules");
      what.recursive = flag("recursiveSubmodules");
      what.parent_credentials = flag("parentCredentials");
      if (flag("trackingSubmodules"))
        log("checkout: trackingSubmodules ignored: submodules are checked out at the commits "
            "their parent pins");
    } else if (name == "LocalBranch" || name == "localBranch") {
      what.want_local_branch = true;
      what.local_branch = text(args, field_or_first(ext, "localBranch"));
    } else if (name == "CloneOption" || name == "cloneOption") {
      log("checkout: clone options (shallow, depth, noTags, reference) are not needed: the "
          "agent's mirror cache holds each repository once and checks out from it");
    } else if (name == "GitLFSPull" || name == "lfs") {
      return StepStatus::failure(
          "checkout: Git LFS is not supported (the agent checks out with libgit2, which fetches "
          "no LFS objects); run `git lfs pull` in a sh step on an agent that has git-lfs");
    } else {
      log("checkout: extension " + (name.empty() ? pipelines::to_source(*ext) : name) + " ignored");
    }
  }
  args.boolean("changelog", true);
  args.boolean("poll", true);
  if (!args.ok()) return args.failure();
  return git_checkout(what, scope);
}

// cleanWs(deleteDirs: true, notFailBuild: true, patterns: [[pattern: '**/x/**', type: 'INCLUDE']])
StepStatus StepRunner::clean_ws(const Step& step, const StepScope& scope) {
  StepArgs args(step, context(scope));
  bool delete_dirs = args.boolean("deleteDirs", false);
  bool not_fail = args.boolean("notFailBuild", false);
  args.boolean("disableDeferredWipeout", false);  // the wipe-out is never deferred here
  std::vector<CleanPattern> patterns;
  for (const Node* p : elements(step.arg("patterns", StepArgs::kNamed))) {
    CleanPattern cp;
    std::string type = "INCLUDE";
    if (p->kind == NodeKind::Map || p->kind == NodeKind::Call) {
      cp.pattern = text(args, field_or_first(p, "pattern"));
      if (const Node* t = field(p, "type")) type = text(args, t);
    } else {
      cp.pattern = text(args, p);
    }
    if (type != "INCLUDE" && type != "EXCLUDE") {
      return StepStatus::failure("cleanWs: a pattern's type is INCLUDE or EXCLUDE, got '" + type +
                                 "'");
    }
    cp.exclude = type == "EXCLUDE";
    if (!cp.pattern.empty()) patterns.push_back(std::move(cp));
  }
  // cleanWhenSuccess: false ... : not for a build with that result so far.
  Result now = job_.overall();
  const char* when = now == Result::Success    ? "cleanWhenSuccess"
                     : now == Result::Unstable ? "cleanWhenUnstable"
                     : now == Result::Failure  ? "cleanWhenFailure"
                     : now == Result::NotBuilt ? "cleanWhenNotBuilt"
                                               : "cleanWhenAborted";
  bool clean = args.boolean(when, true);
  if (now == Result::Failure && args.boolean("skipWhenFailed", false)) clean = false;
  if (step.arg("externalDelete", StepArgs::kNamed) != nullptr) {
    log("cleanWs: externalDelete is not supported; deleting in the agent");
  }
  if (!args.ok()) return args.failure();
  if (!clean) {
    log(std::string("cleanWs: skipped, the build is ") + pipelines::result_name(now));
    return StepStatus{};
  }
  size_t removed = 0;
  std::string error;
  if (!clean_workspace(job_.workspace, patterns, delete_dirs, removed, error)) {
    if (!not_fail) return StepStatus::failure("cleanWs: " + error);
    log("cleanWs: WARNING: " + error + " (notFailBuild)");
    return StepStatus{};
  }
  log("cleanWs: " + std::string(patterns.empty() ? "emptied the workspace, " : "") + "removed " +
      std::to_string(removed) + (removed == 1 ? " entry" : " entries"));
  return StepStatus{};
}

}  // namespace gantry::agent
