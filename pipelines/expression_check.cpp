// check_subset(): finds the constructs of a script or expression that Gantry
// cannot run, and names each one with a way out.
#include <algorithm>
#include <array>

#include "gantry/pipelines/expression.hpp"

namespace gantry::pipelines {
namespace {

// clang-format off
constexpr std::array<std::string_view, 32> kKnownSteps = {
    "sh", "echo", "error", "sleep", "unstable", "input", "dir", "retry", "timeout", "withEnv",
    "withCredentials", "catchError", "warnError", "script", "archiveArtifacts", "junit", "stash",
    "unstash", "checkout", "deleteDir", "writeFile", "git", "cleanWs", "mail", "emailext",
    "slackSend", "publishHTML", "recordIssues", "build", "lock", "milestone", "sshagent"};
// clang-format on

// Calls that only build arguments of a step: withCredentials bindings and
// input parameters.
constexpr std::array<std::string_view, 7> kArgumentBuilders = {
    "string", "usernamePassword", "file", "booleanParam", "choice", "text", "password"};

constexpr std::array<std::string_view, 5> kResults = {"SUCCESS", "UNSTABLE", "FAILURE", "NOT_BUILT",
                                                      "ABORTED"};

template <size_t N>
bool contains(const std::array<std::string_view, N>& list, std::string_view name) {
  return std::find(list.begin(), list.end(), name) != list.end();
}

bool is_ident(const Node* n, std::string_view name) {
  return n != nullptr && n->kind == NodeKind::Ident && n->text == name;
}

bool is_statement(NodeKind k) {
  return k >= NodeKind::ExprStmt;
}

std::string shorten(std::string s) {
  constexpr size_t kMax = 60;
  if (s.size() > kMax) s = s.substr(0, kMax - 3) + "...";
  return s;
}

constexpr std::string_view kShStep = "move this logic into a sh step";

// Constructs whose rendering and advice do not depend on their operands.
// Rendered as head + (name if `named`) + tail; an empty fix means the default.
struct Fixed {
  NodeKind kind;
  std::string_view head;
  bool named;
  std::string_view tail;
  std::string_view what;
  std::string_view fix;
};

constexpr std::string_view kCatch = "use the catchError or warnError step";
constexpr Fixed kFixed[] = {
    {NodeKind::While, "while (...)", false, "", "loops", ""},
    {NodeKind::For, "for (...)", false, "", "loops", ""},
    {NodeKind::Try, "try { ... }", false, "", "try/catch", kCatch},
    {NodeKind::Catch, "catch (...)", false, "", "try/catch", kCatch},
    {NodeKind::Switch, "switch (...)", false, "", "switch statements", "use if/else"},
    {NodeKind::Case, "case ...", false, "", "switch statements", "use if/else"},
    {NodeKind::Throw, "throw ...", false, "", "throw", "use the error step"},
    {NodeKind::Break, "break", false, "", "break", ""},
    {NodeKind::Continue, "continue", false, "", "continue", ""},
    {NodeKind::Block, "{ ... }", false, "", "bare code blocks", "remove the braces"},
    {NodeKind::Closure, "{ ... }", false, "", "closures", ""},
    {NodeKind::MethodDef, "def ", true, "(...)", "method definitions", ""},
    {NodeKind::ClassDef, "class ", true, "", "class definitions", ""},
    {NodeKind::Import, "import ", true, "", "imports", ""},
    {NodeKind::Package, "package ", true, "", "package declarations", ""},
    {NodeKind::Annotation, "@", true, "", "annotations", ""},
    {NodeKind::Label, "", true, ":", "labels", ""},
    {NodeKind::New, "new ", true, "(...)", "'new' expressions", ""},
    {NodeKind::MethodRef, "", false, "", "method references", ""},
    {NodeKind::List, "", false, "", "lists", ""},
    {NodeKind::Map, "", false, "", "maps", ""},
    {NodeKind::Cast, "", false, "", "casts", "compare the value as a string instead"},
    {NodeKind::Dollar, "", false, "", "a bare ${...}", "put it inside a double-quoted string"},
};

const Fixed* find_fixed(NodeKind kind) {
  for (const Fixed& f : kFixed) {
    if (f.kind == kind) return &f;
  }
  return nullptr;
}

// A short rendering: calls keep their name and drop their arguments.
std::string brief(const Node& n, int depth = 0) {
  if (depth > 20) return "...";
  std::string lhs = n.lhs ? brief(*n.lhs, depth + 1) : "";
  switch (n.kind) {
    case NodeKind::Call:
      return (n.lhs ? lhs + (n.safe ? "?." : ".") : "") + n.text +
             (n.items.empty() && n.named.empty() ? "()" : "(...)") + (n.block ? " { ... }" : "");
    case NodeKind::Property:
      return lhs +
             (n.safe     ? "?."
              : n.spread ? "*."
                         : ".") +
             (n.text == "<dynamic>" ? "\"${...}\"" : n.text);
    case NodeKind::Index:
      return lhs + "[" + (n.rhs ? shorten(to_source(*n.rhs)) : "") + "]";
    case NodeKind::VarDecl:
      return (n.type_name.empty() ? "def" : n.type_name) + " " + n.text + (n.lhs ? " = ..." : "");
    case NodeKind::Assign:
      return shorten(lhs) + " " + n.text + " ...";
    default:
      break;
  }
  const Fixed* f = find_fixed(n.kind);
  if (f && (f->named || !f->head.empty())) {
    return std::string(f->head) + (f->named ? n.text : "") + std::string(f->tail);
  }
  return shorten(to_source(n));
}

struct Construct {
  std::string what;
  std::string fix;
};

bool is_arithmetic(std::string_view op) {
  return op == "+" || op == "-" || op == "*" || op == "/" || op == "%" || op == "**";
}

bool is_ordering(std::string_view op) {
  return op == "<" || op == "<=" || op == ">" || op == ">=" || op == "<=>";
}

// What a node outside the subset is, and how to do without it.
Construct classify(const Node& n, CodeKind kind) {
  std::string fix = kind == CodeKind::Script ? std::string(kShStep)
                                             : "do this check inside the stage's sh step instead";
  const Node* lhs = n.lhs.get();
  bool on_env = is_ident(lhs, "env") || is_ident(lhs, "params");
  bool on_build = is_ident(lhs, "currentBuild");
  switch (n.kind) {
    case NodeKind::Ident:
      return {"a bare " + n.text, "read one of its properties, such as " + n.text +
                                      (n.text == "currentBuild" ? ".result" : ".NAME")};
    case NodeKind::Property:
      if (on_build) {
        return {"currentBuild." + n.text,
                "only currentBuild.result and currentBuild.currentResult are supported"};
      }
      if (on_env) return {"computed property names", "write the name: " + lhs->text + ".NAME"};
      if (lhs && lhs->kind == NodeKind::Ident) {
        return {"properties of objects",
                "only env.NAME, params.NAME and currentBuild.result are supported"};
      }
      return {"method calls on objects", fix};
    case NodeKind::Call:
      if (lhs) return {"method calls on objects", fix};
      if (is_known_step(n.text) && kind == CodeKind::Script) {
        return {"step results used as values", "call the step on its own line, or " + fix};
      }
      if (is_known_step(n.text)) return {"steps", "steps run only in steps and script blocks"};
      return {"function calls", fix};
    case NodeKind::Index:
      return {"indexing", on_env ? "write " + lhs->text + ".NAME" : fix};
    case NodeKind::Binary:
      if (is_arithmetic(n.text)) {
        return {"arithmetic", n.text == "+" ? "build strings with \"${...}\", or " + fix : fix};
      }
      if (is_ordering(n.text)) {
        return {"ordering comparisons", "use ==, != or ==~, or " + fix};
      }
      if (n.text == "in" || n.text == "!in") {
        return {"the '" + n.text + "' operator", "use == with || or a ==~ /a|b/ match"};
      }
      return {"the '" + n.text + "' operator", fix};
    case NodeKind::Unary:
      return {"the '" + n.text + "' operator", fix};
    case NodeKind::Ternary:
      return {n.rhs ? "conditional expressions" : "the '?:' operator", "use if/else"};
    case NodeKind::Assign: {
      bool on_property = lhs && lhs->kind == NodeKind::Property;
      if (on_property && is_ident(lhs->lhs.get(), "env")) {
        return {"assignments to env", "set variables with an environment directive or withEnv"};
      }
      if (on_property && is_ident(lhs->lhs.get(), "currentBuild")) {
        return {"setting currentBuild." + lhs->text, lhs->text == "result"
                                                         ? "write currentBuild.result = '...'"
                                                         : "only currentBuild.result can be set"};
      }
      return {"assignments", kind == CodeKind::Script
                                 ? "only currentBuild.result = '...' is supported; " + fix
                                 : fix};
    }
    case NodeKind::VarDecl:
      return {"variable declarations", "use env.NAME and params.NAME, or " + std::string(kShStep)};
    default:
      break;
  }
  if (const Fixed* f = find_fixed(n.kind)) {
    return {std::string(f->what), f->fix.empty() ? fix : std::string(f->fix)};
  }
  return {std::string(kind_name(n.kind)) + "s", fix};
}

class Checker {
 public:
  Checker(Diagnostics& diags, CheckMode mode) : diags_(diags), mode_(mode) {}

  size_t count() const { return count_; }

  void top(const Node& n, CodeKind kind) {
    if (n.kind == NodeKind::Closure || n.kind == NodeKind::Block) {
      statements(n, kind);
    } else if (is_statement(n.kind)) {
      statement(n, kind);
    } else if (kind == CodeKind::Script) {
      expression_statement(n, kind);
    } else {
      expression(n, kind);
    }
  }

 private:
  void report(Pos pos, std::string message) {
    ++count_;
    if (mode_ == CheckMode::Lint) {
      diags_.warning(pos, std::move(message));
    } else {
      diags_.error(pos, std::move(message));
    }
  }

  void unsupported(const Node& n, CodeKind kind) {
    Construct c = classify(n, kind);
    const char* where = kind == CodeKind::Script ? "script blocks" : "expressions";
    std::string shown = brief(n);
    // "currentBuild.displayName" needs no "(currentBuild.displayName)".
    shown = c.what.ends_with(shown) ? "" : " (" + shown + ")";
    report(construct_pos(n), "Gantry cannot run " + c.what + shown + " in " + where + "; " + c.fix);
  }

  void unknown_step(const Node& call) {
    report(call.pos, "unknown step \"" + call.text + "\": it will fail its stage when run");
  }

  // Guards recursion; reports the first node past the limit.
  bool enter(const Node& n) {
    if (depth_ >= kMaxEvalDepth) {
      if (!too_deep_) {
        report(n.pos, "expression nested too deeply (more than " + std::to_string(kMaxEvalDepth) +
                          " levels)");
      }
      too_deep_ = true;
      return false;
    }
    ++depth_;
    return true;
  }

  void statements(const Node& holder, CodeKind kind) {
    if (!enter(holder)) return;
    for (const auto& s : holder.items) {
      if (s) statement(*s, kind);
    }
    --depth_;
  }

  void statement(const Node& s, CodeKind kind) {
    if (!enter(s)) return;
    switch (s.kind) {
      case NodeKind::ExprStmt:
        if (s.lhs) expression_statement(*s.lhs, kind);
        break;
      case NodeKind::Return:
        if (s.lhs) expression(*s.lhs, kind);
        break;
      case NodeKind::If:
        if (s.lhs) expression(*s.lhs, kind);
        if (s.rhs) branch(*s.rhs, kind);
        if (s.third) branch(*s.third, kind);
        break;
      default:
        unsupported(s, kind);
    }
    --depth_;
  }

  // The then/else of an if: a Block, or an If for `else if`.
  void branch(const Node& b, CodeKind kind) {
    if (b.kind == NodeKind::Block) {
      statements(b, kind);
    } else {
      statement(b, kind);
    }
  }

  // An expression on its own line: in a script, a step call or setting the
  // build result; otherwise an expression.
  void expression_statement(const Node& e, CodeKind kind) {
    if (kind == CodeKind::Script && e.kind == NodeKind::Call && !e.lhs) {
      if (!is_known_step(e.text)) {
        unknown_step(e);
        return;
      }
      step_call(e);
      return;
    }
    if (kind == CodeKind::Script && e.kind == NodeKind::Assign && e.text == "=" && e.lhs &&
        e.lhs->kind == NodeKind::Property && !e.lhs->spread &&
        is_ident(e.lhs->lhs.get(), "currentBuild") && e.lhs->text == "result" && e.rhs) {
      if (e.rhs->kind == NodeKind::String && !contains(kResults, e.rhs->text)) {
        report(e.rhs->pos, "'" + e.rhs->text +
                               "' is not a build result: use SUCCESS, UNSTABLE, FAILURE, "
                               "NOT_BUILT or ABORTED");
        return;
      }
      expression(*e.rhs, kind);
      return;
    }
    expression(e, kind);
  }

  void step_call(const Node& call) {
    if (!enter(call)) return;
    for (const auto& arg : call.items) {
      if (arg) step_argument(*arg);
    }
    for (const auto& arg : call.named) {
      if (arg.value) step_argument(*arg.value);
    }
    if (call.block) statements(*call.block, CodeKind::Script);
    --depth_;
  }

  // Steps also take lists (withEnv(['A=1'])), binding builders
  // (string(credentialsId: 'x', variable: 'T')) and closures.
  void step_argument(const Node& arg) {
    if (!enter(arg)) return;
    if (arg.kind == NodeKind::List) {
      for (const auto& item : arg.items) {
        if (item) step_argument(*item);
      }
    } else if (arg.kind == NodeKind::Call && !arg.lhs && contains(kArgumentBuilders, arg.text) &&
               !arg.block) {
      step_call(arg);
    } else if (arg.kind == NodeKind::Closure) {
      statements(arg, CodeKind::Script);
    } else {
      expression(arg, CodeKind::Script);
    }
    --depth_;
  }

  void expression(const Node& e, CodeKind kind) {
    if (!enter(e)) return;
    switch (e.kind) {
      case NodeKind::Null:
      case NodeKind::Bool:
      case NodeKind::Int:
      case NodeKind::Float:
      case NodeKind::String:
        break;
      case NodeKind::Ident:
        if (e.text == "env" || e.text == "params" || e.text == "currentBuild") {
          unsupported(e, kind);
        }
        break;
      case NodeKind::Property:
        if (!supported_property(e)) unsupported(e, kind);
        break;
      case NodeKind::GString:
        for (const auto& part : e.items) {
          if (!part) continue;
          // `${a; b}`: statements, whose last value is interpolated.
          if (part->kind == NodeKind::Closure) {
            statements(*part, CodeKind::Expression);
          } else {
            expression(*part, kind);
          }
        }
        break;
      case NodeKind::Unary:
        if (e.text != "!" || e.postfix || !e.lhs) {
          unsupported(e, kind);
        } else {
          expression(*e.lhs, kind);
        }
        break;
      case NodeKind::Binary:
        if (!is_subset_operator(e.text) || !e.lhs || !e.rhs) {
          unsupported(e, kind);
        } else {
          expression(*e.lhs, kind);
          expression(*e.rhs, kind);
        }
        break;
      case NodeKind::Call:
        if (kind == CodeKind::Script && !e.lhs && !is_known_step(e.text)) {
          unknown_step(e);
        } else {
          unsupported(e, kind);
        }
        break;
      default:
        unsupported(e, kind);
    }
    --depth_;
  }

  static bool is_subset_operator(std::string_view op) {
    return op == "==" || op == "!=" || op == "=~" || op == "==~" || op == "&&" || op == "||";
  }

  static bool supported_property(const Node& p) {
    if (p.spread || !p.lhs) return false;
    if (is_ident(p.lhs.get(), "env") || is_ident(p.lhs.get(), "params")) {
      return p.text != "<dynamic>";
    }
    return is_ident(p.lhs.get(), "currentBuild") &&
           (p.text == "result" || p.text == "currentResult");
  }

  Diagnostics& diags_;
  CheckMode mode_;
  int depth_ = 0;
  bool too_deep_ = false;
  size_t count_ = 0;
};

}  // namespace

bool is_known_step(std::string_view name) {
  return contains(kKnownSteps, name);
}

std::string describe_construct(const Node& node) {
  std::string what = classify(node, CodeKind::Expression).what;
  std::string shown = brief(node);
  return what.ends_with(shown) ? what : what + " (" + shown + ")";
}

Pos construct_pos(const Node& node) {
  if (node.kind == NodeKind::Binary || node.kind == NodeKind::Ternary) return node.pos;
  if (node.kind == NodeKind::Assign && node.lhs) return construct_pos(*node.lhs);
  const Node* p = &node;
  for (int i = 0; i < kMaxEvalDepth; ++i) {
    bool chain = p->kind == NodeKind::Property || p->kind == NodeKind::Index ||
                 p->kind == NodeKind::MethodRef || p->kind == NodeKind::Call;
    if (!chain || !p->lhs) break;
    p = p->lhs.get();
  }
  return p->pos;
}

size_t check_subset(const Node& node, Diagnostics& diags, CheckMode mode, CodeKind kind) {
  Checker checker(diags, mode);
  checker.top(node, kind);
  return checker.count();
}

}  // namespace gantry::pipelines
