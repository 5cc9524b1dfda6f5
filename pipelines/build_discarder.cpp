// buildDiscarder(logRotator(...)): checking its keys and reading its values.
#include "gantry/pipelines/build_discarder.hpp"

#include <array>
#include <string>
#include <string_view>

namespace gantry::pipelines {
namespace {

struct Key {
  std::string_view str_form, int_form;
  int64_t BuildDiscarder::*field;
};

constexpr std::array<Key, 4> kKeys = {{
    {"numToKeepStr", "numToKeep", &BuildDiscarder::num_to_keep},
    {"daysToKeepStr", "daysToKeep", &BuildDiscarder::days_to_keep},
    {"artifactNumToKeepStr", "artifactNumToKeep", &BuildDiscarder::artifact_num_to_keep},
    {"artifactDaysToKeepStr", "artifactDaysToKeep", &BuildDiscarder::artifact_days_to_keep},
}};

constexpr std::string_view kKeyList =
    "numToKeepStr, daysToKeepStr, artifactNumToKeepStr, artifactDaysToKeepStr, numToKeep, "
    "daysToKeep, artifactNumToKeep, artifactDaysToKeep";

// Digits only, at most 9 of them (Jenkins reads an int); "-1" is no limit.
std::optional<int64_t> whole_number(std::string_view text) {
  if (text == "-1") return BuildDiscarder::kUnlimited;
  if (text.empty() || text.size() > 9) return std::nullopt;
  int64_t n = 0;
  for (char ch : text) {
    if (ch < '0' || ch > '9') return std::nullopt;
    n = n * 10 + (ch - '0');
  }
  return n;
}

class Reader {
 public:
  explicit Reader(Diagnostics* diags) : diags_(diags) {}

  bool error(Pos pos, std::string message) {
    if (diags_) diags_->error(pos, std::move(message));
    ok_ = false;
    return false;
  }
  void warning(Pos pos, std::string message) {
    if (diags_) diags_->warning(pos, std::move(message));
  }
  bool ok() const { return ok_; }

  // One `key: value` of logRotator.
  void value(const NamedArg& arg, int64_t& out) {
    const Node& v = *arg.value;
    std::string where = "logRotator " + arg.name;
    if (v.kind == NodeKind::String) {
      if (v.text.empty()) {
        out = BuildDiscarder::kUnlimited;
      } else if (auto n = whole_number(v.text)) {
        out = *n;
      } else {
        error(v.pos, where + " must be a whole number, -1 or '' (no limit), not '" + v.text + "'");
      }
      return;
    }
    if (v.kind == NodeKind::Int ||
        (v.kind == NodeKind::Unary && v.text == "-" && v.lhs && v.lhs->kind == NodeKind::Int)) {
      std::string digits = v.kind == NodeKind::Int ? v.text : "-" + v.lhs->text;
      if (auto n = whole_number(digits); n && !v.big && !(v.lhs && v.lhs->big)) {
        out = *n;
      } else {
        error(v.pos, where + " must be a whole number or -1 (no limit), not " + digits);
      }
      return;
    }
    if (v.kind == NodeKind::GString || v.kind == NodeKind::Ident || v.kind == NodeKind::Property ||
        v.kind == NodeKind::Call || v.kind == NodeKind::Ternary || v.kind == NodeKind::Binary) {
      // Jenkins evaluates it when the run starts; the controller prunes
      // between runs, from the pipeline's text.
      out = BuildDiscarder::kUnlimited;
      warning(v.pos, where +
                         " is only known at run time; Gantry reads buildDiscarder from the "
                         "pipeline's text and keeps every run for this limit (write a number)");
      return;
    }
    error(v.pos, where + " must be a whole number, not " + std::string(kind_name(v.kind)));
  }

 private:
  Diagnostics* diags_;
  bool ok_ = true;
};

}  // namespace

std::optional<BuildDiscarder> read_build_discarder(const Step& option, Diagnostics* diags) {
  Reader r(diags);
  const Node* strategy = option.arg("strategy");
  if (!strategy) {
    r.error(option.pos, "buildDiscarder needs a strategy, such as logRotator(numToKeepStr: '10')");
    return std::nullopt;
  }
  if (strategy->kind != NodeKind::Call || strategy->lhs || strategy->text != "logRotator") {
    r.error(strategy->pos,
            "buildDiscarder supports logRotator(...) only, as in "
            "buildDiscarder(logRotator(numToKeepStr: '10'))");
    return std::nullopt;
  }
  if (!strategy->items.empty() || strategy->block) {
    r.error(strategy->pos, "logRotator takes named arguments only: " + std::string(kKeyList));
    return std::nullopt;
  }
  BuildDiscarder out;
  std::array<const NamedArg*, kKeys.size()> given{};
  for (const NamedArg& arg : strategy->named) {
    size_t i = 0;
    while (i < kKeys.size() && arg.name != kKeys[i].str_form && arg.name != kKeys[i].int_form) ++i;
    if (i == kKeys.size()) {
      r.error(arg.pos, "Invalid parameter \"" + arg.name +
                           "\" for logRotator. Valid parameters: " + std::string(kKeyList));
      continue;
    }
    if (given[i]) {
      r.error(arg.pos, given[i]->name == arg.name
                           ? "Duplicate named parameter '" + arg.name + "' found"
                           : "logRotator has both " + given[i]->name + " and " + arg.name);
      continue;
    }
    given[i] = &arg;
    r.value(arg, out.*kKeys[i].field);
  }
  if (!r.ok()) return std::nullopt;
  return out;
}

std::optional<BuildDiscarder> build_discarder(const Pipeline& pipeline) {
  for (const Step& option : pipeline.options) {
    if (option.name == "buildDiscarder") return read_build_discarder(option, nullptr);
  }
  return std::nullopt;
}

}  // namespace gantry::pipelines
