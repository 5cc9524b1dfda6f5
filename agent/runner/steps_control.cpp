// Block steps: dir, withEnv, withCredentials, timeout, retry, catchError,
// warnError. Each evaluates its arguments, adjusts the scope or watches the
// body's status, and runs the body through run_steps().
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "step_runner.hpp"

namespace gantry::agent {

using pipelines::Node;
using pipelines::NodeKind;
using pipelines::Result;
using pipelines::Step;

namespace {

std::string where(const Node& n) {
  return std::to_string(n.pos.line) + ":" + std::to_string(n.pos.col);
}

// Removes the secret files a withCredentials body used, however it ends.
class SecretFiles {
 public:
  SecretFiles() = default;
  SecretFiles(const SecretFiles&) = delete;
  SecretFiles& operator=(const SecretFiles&) = delete;
  ~SecretFiles() {
    std::error_code ec;
    for (const auto& p : paths_) std::filesystem::remove(p, ec);
  }
  void add(std::string path) { paths_.push_back(std::move(path)); }

 private:
  std::vector<std::string> paths_;
};

}  // namespace

bool write_private_file(const std::string& path, const std::string& value, std::string& error) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    error = std::strerror(errno);
    return false;
  }
  std::string_view rest = value;
  while (!rest.empty()) {
    ssize_t n = ::write(fd, rest.data(), rest.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      error = std::strerror(errno);
      ::close(fd);
      return false;
    }
    rest.remove_prefix(static_cast<size_t>(n));
  }
  ::close(fd);
  return true;
}

StepStatus StepRunner::dir(const Step& step, const StepScope& scope) {
  StepArgs args(step, context(scope));
  auto path = args.string("path", 0);
  if (!args.ok()) return args.failure();
  if (!path) return StepStatus::failure("dir: no path given");
  StepScope inner = scope;
  inner.cwd = resolve(scope, *path);
  std::error_code ec;
  std::filesystem::create_directories(inner.cwd, ec);
  if (ec) return StepStatus::failure("dir: cannot create " + inner.cwd + ": " + ec.message());
  log("Running in " + inner.cwd);
  return body(step, inner);
}

StepStatus StepRunner::with_env(const Step& step, const StepScope& scope) {
  StepArgs args(step, context(scope));
  const Node* list = args.node("overrides", 0);
  if (list == nullptr) return StepStatus::failure("withEnv: no variables given");
  std::vector<const Node*> items;
  if (list->kind == NodeKind::List) {
    for (const auto& item : list->items) items.push_back(item.get());
  } else {
    items.push_back(list);
  }
  StepScope inner = scope;
  for (const Node* item : items) {
    if (item == nullptr) continue;
    auto v = args.eval(*item);
    if (!args.ok()) return args.failure();
    std::string text = v ? v->to_string() : "";
    size_t eq = text.find('=');
    if (eq == std::string::npos || eq == 0) {
      return StepStatus::failure("withEnv: " + where(*item) + ": '" + text + "' is not NAME=value");
    }
    std::string name = text.substr(0, eq);
    std::string value = text.substr(eq + 1);
    // Jenkins' PATH+LABEL=dir prepends dir to PATH.
    if (size_t plus = name.find('+'); plus != std::string::npos) {
      name.resize(plus);
      const std::string& old = inner.env[name];
      if (!old.empty()) value += ":" + old;
    }
    inner.env[name] = value;
  }
  return body(step, inner);
}

StepStatus StepRunner::with_credentials(const Step& step, const StepScope& scope) {
  const Node* list = step.arg("bindings", 0);
  if (list == nullptr || list->kind != NodeKind::List) {
    return StepStatus::failure("withCredentials: expected a list of bindings");
  }
  StepScope inner = scope;
  SecretFiles files;
  for (const auto& item : list->items) {
    if (!item || item->kind != NodeKind::Call || item->lhs) {
      return StepStatus::failure("withCredentials: " + (item ? where(*item) + ": " : "") +
                                 "expected a binding such as string(credentialsId: 'id', "
                                 "variable: 'VAR')");
    }
    Step binding = step_from_call(*item);
    StepArgs args(binding, context(scope));
    auto id = args.string("credentialsId");
    if (!args.ok()) return args.failure();
    if (!id)
      return StepStatus::failure("withCredentials: " + binding.name + " has no credentialsId");
    auto cred = job_.spec.credentials.find(*id);
    if (cred == job_.spec.credentials.end()) {
      return StepStatus::failure("credentials '" + *id + "' not available");
    }
    const std::string& secret = cred->second;
    auto variable = [&args](std::string_view key) -> std::optional<std::string> {
      auto name = args.string(key);
      return name && !name->empty() ? name : std::nullopt;
    };
    if (binding.name == "string" || binding.name == "usernameColonPassword" ||
        binding.name == "file" || binding.name == "sshUserPrivateKey" ||
        binding.name == "certificate") {
      // sshUserPrivateKey: the key in a file (keyFileVariable); certificate: the keystore in a
      // file (keystoreVariable). A Gantry secret is one value: their user name, passphrase,
      // password and alias variables are set empty.
      const bool key = binding.name == "sshUserPrivateKey";
      const bool keystore = binding.name == "certificate";
      const char* file_var = key ? "keyFileVariable" : keystore ? "keystoreVariable" : "variable";
      auto var = variable(file_var);
      for (const char* extra :
           {"usernameVariable", "passphraseVariable", "passwordVariable", "aliasVariable"}) {
        if (!key && !keystore) break;
        if (auto name = variable(extra)) inner.env[*name] = "";
      }
      if (!args.ok()) return args.failure();
      if (!var)
        return StepStatus::failure("withCredentials: " + binding.name + " needs '" + file_var +
                                   "'");
      if (binding.name != "file" && !key && !keystore) {
        inner.env[*var] = secret;
        continue;
      }
      // ssh refuses a key file without its final newline.
      std::string text = secret;
      if (key && !text.empty() && text.back() != '\n') text += '\n';
      std::string path, error;
      if (!temp_path("secret", path, error) || !write_private_file(path, text, error) ||
          !give_to_job_user(path, error)) {
        return StepStatus::failure("withCredentials: cannot write the file for '" + *id +
                                   "': " + error);
      }
      files.add(path);
      inner.env[*var] = path;
    } else if (binding.name == "usernamePassword") {
      auto user_var = variable("usernameVariable");
      auto pass_var = variable("passwordVariable");
      if (!args.ok()) return args.failure();
      if (!user_var || !pass_var) {
        return StepStatus::failure(
            "withCredentials: usernamePassword needs 'usernameVariable' and 'passwordVariable'");
      }
      size_t colon = secret.find(':');
      inner.env[*user_var] = secret.substr(0, colon);
      inner.env[*pass_var] = colon == std::string::npos ? "" : secret.substr(colon + 1);
    } else {
      return StepStatus::failure("withCredentials: binding '" + binding.name +
                                 "' is not supported (use string, usernamePassword, "
                                 "usernameColonPassword, file, sshUserPrivateKey or "
                                 "certificate)");
    }
  }
  return body(step, inner);
}

StepStatus StepRunner::timeout(const Step& step, const StepScope& scope) {
  StepArgs args(step, context(scope));
  auto time = args.integer("time", 0);
  auto unit = args.string("unit").value_or("MINUTES");
  if (!args.ok()) return args.failure();
  if (!time) return StepStatus::failure("timeout: no time given");
  auto d = to_duration(*time, unit);
  if (!d) return StepStatus::failure("timeout: unknown unit '" + unit + "'");
  int id = job_.control.push_scope(std::chrono::steady_clock::now() + *d);
  StepStatus st = body(step, scope);
  bool expired = job_.control.pop_scope(id);
  if (expired && !st.ok && !st.stopped) {
    return StepStatus::failure("timeout after " + format_seconds(*d), Result::Aborted);
  }
  return st;
}

StepStatus StepRunner::retry(const Step& step, const StepScope& scope) {
  StepArgs args(step, context(scope));
  int64_t count = args.integer("count", 0).value_or(1);
  if (!args.ok()) return args.failure();
  count = std::max<int64_t>(count, 1);
  StepStatus st;
  for (int64_t attempt = 1; attempt <= count; ++attempt) {
    st = body(step, scope);
    // A stop, or an enclosing timeout that fired, ends the retries too.
    if (st.ok || st.stopped || job_.control.interrupted()) return st;
    if (attempt < count) {
      log("Retrying (attempt " + std::to_string(attempt + 1) + " of " + std::to_string(count) +
          ")");
    }
  }
  return st;
}

StepStatus StepRunner::catch_error(const Step& step, const StepScope& scope) {
  StepArgs args(step, context(scope));
  std::string build_text = args.string("buildResult").value_or("FAILURE");
  std::string stage_text = args.string("stageResult").value_or("SUCCESS");
  auto message = args.string("message");
  bool interruptions = args.boolean("catchInterruptions", true);
  if (!args.ok()) return args.failure();
  auto build = pipelines::parse_result(build_text);
  auto stage = pipelines::parse_result(stage_text);
  if (!build || !stage) {
    return StepStatus::failure("catchError: '" + (build ? stage_text : build_text) +
                               "' is not a build result");
  }
  StepStatus st = body(step, scope);
  if (st.ok || st.stopped || job_.control.interrupted()) return st;
  if (st.result == Result::Aborted && !interruptions) return st;
  if (message) log(*message);
  job_.build_result = pipelines::worse(job_.build_result, *build);
  job_.stage_result = pipelines::worse(job_.stage_result, *stage);
  if (job_.reason.empty() && (*build != Result::Success || *stage != Result::Success)) {
    job_.reason = message.value_or(st.message);
  }
  return StepStatus{};
}

StepStatus StepRunner::warn_error(const Step& step, const StepScope& scope) {
  StepArgs args(step, context(scope));
  std::string message = args.string("message", 0).value_or("");
  bool interruptions = args.boolean("catchInterruptions", true);
  if (!args.ok()) return args.failure();
  StepStatus st = body(step, scope);
  if (st.ok || st.stopped || job_.control.interrupted()) return st;
  if (st.result == Result::Aborted && !interruptions) return st;
  log("WARNING: " + (message.empty() ? st.message : message));
  job_.mark_unstable(message.empty() ? st.message : message);
  return StepStatus{};
}

}  // namespace gantry::agent
