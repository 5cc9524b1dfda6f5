#pragma once
// The Mann-Whitney U test as canary analysis uses it (compareMetrics):
// is the canary's sample stochastically greater than the baseline's? Ranks
// the pooled samples (average ranks for ties), U of the canary, the normal
// approximation with the tie correction and a continuity correction, and
// the one-sided p-value for "canary greater" (scipy's mannwhitneyu with
// alternative='greater', method='asymptotic'). Pure; no I/O.

#include <vector>

namespace gantry::agent {

struct MannWhitney {
  double u = 0;        // the canary's U: pairs (canary, baseline) where canary > baseline, ties 1/2
  double z = 0;        // standardised, with continuity correction
  double p = 1;        // one-sided: P(U >= u) under "same distribution"
  bool valid = false;  // false when a sample is empty or every value is the same
};

MannWhitney mann_whitney_greater(const std::vector<double>& baseline,
                                 const std::vector<double>& canary);

double median(std::vector<double> values);  // 0 for an empty sample

}  // namespace gantry::agent
