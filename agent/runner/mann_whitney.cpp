#include "mann_whitney.hpp"

#include <algorithm>
#include <cmath>
#include <utility>

namespace gantry::agent {

MannWhitney mann_whitney_greater(const std::vector<double>& baseline,
                                 const std::vector<double>& canary) {
  MannWhitney out;
  const double n1 = static_cast<double>(baseline.size());
  const double n2 = static_cast<double>(canary.size());
  if (baseline.empty() || canary.empty()) return out;
  // Pool (value, from canary), sort, and give each tie group its average rank.
  std::vector<std::pair<double, bool>> pooled;
  pooled.reserve(baseline.size() + canary.size());
  for (double v : baseline) pooled.emplace_back(v, false);
  for (double v : canary) pooled.emplace_back(v, true);
  std::sort(pooled.begin(), pooled.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  double canary_ranks = 0, tie_term = 0;
  for (size_t i = 0; i < pooled.size();) {
    size_t j = i;
    while (j < pooled.size() && pooled[j].first == pooled[i].first) ++j;
    const double t = static_cast<double>(j - i);
    const double rank = (static_cast<double>(i + 1) + static_cast<double>(j)) / 2.0;
    for (size_t k = i; k < j; ++k) {
      if (pooled[k].second) canary_ranks += rank;
    }
    tie_term += t * t * t - t;
    i = j;
  }
  const double n = n1 + n2;
  out.u = canary_ranks - n2 * (n2 + 1) / 2.0;
  const double mu = n1 * n2 / 2.0;
  const double variance = n1 * n2 / 12.0 * ((n + 1) - tie_term / (n * (n - 1)));
  if (variance <= 0) return out;  // every value the same: no evidence either way
  out.z = (out.u - mu - 0.5) / std::sqrt(variance);
  out.p = 0.5 * std::erfc(out.z / std::sqrt(2.0));
  out.valid = true;
  return out;
}

double median(std::vector<double> values) {
  if (values.empty()) return 0;
  const size_t mid = values.size() / 2;
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(mid), values.end());
  double m = values[mid];
  if (values.size() % 2 == 0) {
    m = (m + *std::max_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(mid))) /
        2.0;
  }
  return m;
}

}  // namespace gantry::agent
