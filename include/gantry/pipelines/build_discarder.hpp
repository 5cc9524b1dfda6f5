#pragma once
// Jenkins' build discarder, `options { buildDiscarder(logRotator(...)) }`:
// how many of a job's runs to keep and for how many days, and the same for
// their artifacts. Read from the pipeline model's option step; the
// controller's retention service applies it (docs/retention.md). Pure; no
// I/O, no threads.
//
// Accepted as Jenkins writes it: the string keys numToKeepStr, daysToKeepStr,
// artifactNumToKeepStr, artifactDaysToKeepStr ('' or '-1' = no limit), and
// the integer keys numToKeep, daysToKeep, artifactNumToKeep,
// artifactDaysToKeep (-1 = no limit); positionally or as `strategy:`.

#include <cstdint>
#include <optional>

#include "gantry/pipelines/diagnostics.hpp"
#include "gantry/pipelines/model.hpp"

namespace gantry::pipelines {

struct BuildDiscarder {
  static constexpr int64_t kUnlimited = -1;
  int64_t num_to_keep = kUnlimited;
  int64_t days_to_keep = kUnlimited;
  int64_t artifact_num_to_keep = kUnlimited;
  int64_t artifact_days_to_keep = kUnlimited;
  friend bool operator==(const BuildDiscarder&, const BuildDiscarder&) = default;
};

// The settings of a `buildDiscarder` option step. Reports into `diags` (may
// be null): errors for a strategy other than logRotator, positional or
// unknown keys, a key given in both forms, and values that are not whole
// numbers; a warning for a value only known at run time ("${N}"), which
// counts as no limit. nullopt on an error.
std::optional<BuildDiscarder> read_build_discarder(const Step& option, Diagnostics* diags);

// The pipeline's discarder, from its options; nullopt when it has none.
std::optional<BuildDiscarder> build_discarder(const Pipeline& pipeline);

}  // namespace gantry::pipelines
