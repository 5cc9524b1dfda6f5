// check_groovy(): lint for the Groovy Gantry's interpreter cannot run.
#include "gantry/pipelines/groovy_check.hpp"

#include <array>
#include <cctype>

#include "gantry/pipelines/expression.hpp"
#include "gantry/pipelines/groovy.hpp"
#include "gantry/pipelines/groovy_parser.hpp"

namespace gantry::pipelines {

namespace {

// clang-format off
constexpr std::array<std::string_view, 89> kCallables = {
    // Groovy's own
    "println", "print", "printf", "sprintf", "assert",
    // steps the interpreter runs itself, and the agent's
    "node", "stage", "parallel", "ws", "properties", "pwd", "isUnix", "readFile", "fileExists",
    "timestamps", "ansiColor", "withChecks", "compareMetrics", "script", "container", "tool",
    "libraryResource",
    "library", "readJSON", "writeJSON", "readYaml", "writeYaml", "readProperties", "readCSV",
    // argument builders (withCredentials bindings, input parameters, SCMs)
    "usernamePassword", "usernameColonPassword", "string", "file", "sshUserPrivateKey",
    "certificate", "booleanParam", "choice", "text", "password", "scmGit", "gitBranch", "branch",
    "userRemoteConfig", "cleanBeforeCheckout", "localBranch", "submodule", "cloneOption", "lfs",
    "pruneStale", "wipeWorkspace", "run", "credentials", "relativeTargetDirectory",
    "cleanAfterCheckout", "super", "this", "error", "echo",
    // emailext's recipientProviders
    "developers", "culprits", "requestor",
    // recordIssues' tools and filters
    "checkStyle", "esLint", "ktLint", "detekt", "tsLint", "swiftLint", "phpCodeSniffer",
    "pmdParser", "spotBugs", "findBugs", "sarif", "issues", "java", "javaDoc", "gcc", "gcc4",
    "clang", "clangTidy", "msBuild", "mavenConsole", "cpd", "pyLint", "flake8", "taskScanner",
    "excludeFile", "includeFile", "excludeCategory", "excludeType"};
// clang-format on

std::string simple(std::string_view name) {
  size_t dot = name.rfind('.');
  return std::string(dot == std::string_view::npos ? name : name.substr(dot + 1));
}

bool upper(std::string_view name) {
  return !name.empty() && std::isupper(static_cast<unsigned char>(name[0]));
}

class Checker {
 public:
  Checker(const GroovyNames& names, Diagnostics& diags) : names_(names), diags_(diags) {}

  void walk(const Node& n, int depth) {
    if (depth > kMaxDepth) return;
    check(n);
    for (const NodePtr* child : {&n.lhs, &n.rhs, &n.third, &n.block}) {
      if (*child) walk(**child, depth + 1);
    }
    for (const auto& item : n.items) {
      if (item) walk(*item, depth + 1);
    }
    for (const auto& arg : n.named) {
      if (arg.key) walk(*arg.key, depth + 1);
      if (arg.value) walk(*arg.value, depth + 1);
    }
  }

  size_t count() const { return count_; }

 private:
  void warn(Pos at, const std::string& message) {
    diags_.warning(at, message);
    ++count_;
  }

  bool known_class(std::string_view name) const {
    return groovy::is_allowed_class(name) || names_.classes.count(simple(name)) != 0;
  }

  void check(const Node& n) {
    switch (n.kind) {
      case NodeKind::New:
        if (!known_class(n.text) && !known_class(simple(n.text))) {
          warn(n.pos, "Gantry's sandbox does not allow new " + n.text +
                          " (docs/groovy.md lists the classes a script may use)");
        }
        break;
      case NodeKind::Call: {
        if (!n.lhs) {
          const std::string& name = n.text;
          bool callable = is_groovy_callable(name) || names_.methods.count(name) != 0 ||
                          names_.variables.count(name) != 0 || names_.classes.count(name) != 0;
          if (!callable) {
            warn(n.pos, "unknown step \"" + name +
                            "\": Gantry does not provide it, and it will fail its stage when run");
          }
          break;
        }
        if (n.text == "execute" || n.text == "getMetaClass" || n.text == "invokeMethod" ||
            n.text == "forName") {
          warn(n.pos, "Gantry's sandbox does not allow " + n.text + "(): run commands with sh");
          break;
        }
        if (n.lhs->kind == NodeKind::Ident && upper(n.lhs->text) &&
            names_.variables.count(n.lhs->text) == 0) {
          const std::string& cls = n.lhs->text;
          if (!known_class(cls)) {
            warn(n.lhs->pos, "Gantry's sandbox does not allow the class " + cls +
                                 " (docs/groovy.md lists the classes a script may use)");
          } else if ((cls == "System" && n.text != "currentTimeMillis" && n.text != "nanoTime" &&
                      n.text != "lineSeparator") ||
                     (cls == "Thread" && n.text == "sleep")) {
            warn(n.pos, "Gantry's sandbox does not allow " + cls + "." + n.text +
                            (cls == "Thread" ? ": use the sleep step" : ": read env.NAME instead"));
          }
        }
        break;
      }
      case NodeKind::Property:
        if (n.text == "metaClass") {
          warn(n.pos, "Gantry's sandbox does not allow metaClass");
        } else if (n.lhs && n.lhs->kind == NodeKind::Ident && upper(n.lhs->text) &&
                   names_.variables.count(n.lhs->text) == 0 && !known_class(n.lhs->text) &&
                   n.lhs->text.find_first_of("abcdefghijklmnopqrstuvwxyz") != std::string::npos) {
          warn(n.lhs->pos, "Gantry's sandbox does not allow the class " + n.lhs->text +
                               " (docs/groovy.md lists the classes a script may use)");
        }
        break;
      case NodeKind::Annotation:
        if (n.text == "Grab" || n.text == "Grapes") {
          warn(n.pos, "@" + n.text + " downloads code: Gantry's sandbox does not allow it");
        }
        break;
      default:
        break;
    }
  }

  const GroovyNames& names_;
  Diagnostics& diags_;
  size_t count_ = 0;
};

void collect(const Node& n, GroovyNames& out, int depth) {
  if (depth > kMaxDepth) return;
  switch (n.kind) {
    case NodeKind::VarDecl:
      out.variables.insert(n.text);
      for (const auto& p : n.params) out.variables.insert(p);
      break;
    case NodeKind::Assign:
      if (n.lhs && n.lhs->kind == NodeKind::Ident) out.variables.insert(n.lhs->text);
      break;
    case NodeKind::Closure:
    case NodeKind::MethodDef:
      for (const auto& p : n.params) out.variables.insert(p);
      if (n.kind == NodeKind::MethodDef && depth <= 2) out.methods.insert(n.text);
      break;
    case NodeKind::For:
    case NodeKind::Catch:
      if (!n.text.empty()) out.variables.insert(n.text);
      break;
    case NodeKind::ClassDef:
      out.classes.insert(n.text);
      break;
    default:
      break;
  }
  for (const NodePtr* child : {&n.lhs, &n.rhs, &n.third, &n.block}) {
    if (*child) collect(**child, out, depth + 1);
  }
  for (const auto& item : n.items) {
    if (item) collect(*item, out, depth + 1);
  }
  for (const auto& arg : n.named) {
    if (arg.value) collect(*arg.value, out, depth + 1);
  }
}

}  // namespace

bool is_groovy_callable(std::string_view name) {
  if (is_known_step(name)) return true;
  for (auto c : kCallables) {
    if (c == name) return true;
  }
  return false;
}

GroovyNames collect_groovy_names(const Node& file) {
  GroovyNames out;
  collect(file, out, 0);
  return out;
}

size_t check_groovy(const Node& code, const GroovyNames& names, Diagnostics& diags) {
  Checker c(names, diags);
  c.walk(code, 0);
  return c.count();
}

}  // namespace gantry::pipelines
