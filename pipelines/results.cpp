#include "gantry/pipelines/results.hpp"

#include <array>

namespace gantry::pipelines {
namespace {

constexpr std::array<std::string_view, 5> kNames = {"SUCCESS", "UNSTABLE", "FAILURE", "NOT_BUILT",
                                                    "ABORTED"};

}  // namespace

const char* result_name(Result r) {
  return kNames[static_cast<size_t>(r)].data();
}

std::optional<Result> parse_result(std::string_view name) {
  for (size_t i = 0; i < kNames.size(); ++i) {
    if (kNames[i] == name) return static_cast<Result>(i);
  }
  return std::nullopt;
}

Result worse(Result a, Result b) {
  return static_cast<int>(a) >= static_cast<int>(b) ? a : b;
}

bool post_applies(PostCondition c, Result current, std::optional<Result> previous) {
  switch (c) {
    case PostCondition::Always:
    case PostCondition::Cleanup:
      return true;
    case PostCondition::Changed:
      return previous.has_value() && *previous != current;
    case PostCondition::Fixed:
      return current == Result::Success &&
             (previous == Result::Unstable || previous == Result::Failure);
    case PostCondition::Regression:
      return previous == Result::Success &&
             (current == Result::Unstable || current == Result::Failure ||
              current == Result::Aborted);
    case PostCondition::Aborted:
      return current == Result::Aborted;
    case PostCondition::Success:
      return current == Result::Success;
    case PostCondition::Unsuccessful:
      return current != Result::Success;
    case PostCondition::Unstable:
      return current == Result::Unstable;
    case PostCondition::Failure:
      return current == Result::Failure;
    case PostCondition::NotBuilt:
      return current == Result::NotBuilt;
  }
  return false;
}

}  // namespace gantry::pipelines
