// Reading state words from the store's columns (store_impl.hpp).
#include "gantry/common/log.hpp"
#include "store/store_impl.hpp"

namespace gantry::controller {

namespace {

template <typename E>
E column_or(std::optional<E> parsed, std::string_view word, const char* column, E fallback) {
  if (parsed) return *parsed;
  log::warn("store", "column.unknown_word",
            {{"column", column},
             {"word", std::string(word)},
             {"read_as", std::string(to_string(fallback))}});
  return fallback;
}

}  // namespace

RunStatus run_status_column(std::string_view word) {
  return column_or(parse_run_status(word), word, "status", RunStatus::Failed);
}

ApprovalStatus approval_status_column(std::string_view word) {
  return column_or(parse_approval_status(word), word, "approvals.status",
                   ApprovalStatus::Cancelled);
}

ReleaseStatus release_status_column(std::string_view word) {
  return column_or(parse_release_status(word), word, "releases.status", ReleaseStatus::Failed);
}

GateKind gate_kind_column(std::string_view word) {
  return column_or(parse_gate_kind(word), word, "approvals.kind", GateKind::Gmud);
}

}  // namespace gantry::controller
