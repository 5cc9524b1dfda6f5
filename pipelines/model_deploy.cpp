// Gantry's own stage directives: deploy('env') { canary { } rollback { } }
// and gmud { }. They are parsed and validated here; the controller runs them.
#include <charconv>

#include "model_builder_impl.hpp"

namespace gantry::pipelines {
namespace {

// "90", "30s", "2m", "1h", "1h30m" → seconds.
std::optional<int64_t> parse_duration(std::string_view text) {
  if (text.empty()) return std::nullopt;
  int64_t total = 0;
  size_t i = 0;
  while (i < text.size()) {
    int64_t n = 0;
    auto [ptr, ec] = std::from_chars(text.data() + i, text.data() + text.size(), n);
    if (ec != std::errc() || n < 0 || n > 7 * 24 * 3600) return std::nullopt;
    i = static_cast<size_t>(ptr - text.data());
    int64_t unit = 1;
    if (i < text.size()) {
      switch (text[i]) {
        case 's':
          unit = 1;
          break;
        case 'm':
          unit = 60;
          break;
        case 'h':
          unit = 3600;
          break;
        case 'd':
          unit = 86400;
          break;
        default:
          return std::nullopt;
      }
      ++i;
    } else if (total != 0) {
      return std::nullopt;  // "1h30" is ambiguous
    }
    total += n * unit;
  }
  return total;
}

}  // namespace

void ModelBuilder::section_deploy(Node& call, std::optional<Deploy>& out) {
  Deploy d;
  d.pos = call.pos;
  auto env = call.items.size() == 1 && call.named.empty() ? literal_string(call.items[0].get())
                                                          : std::nullopt;
  if (!env || env->empty()) {
    error(call.pos, "deploy needs the environment's name: deploy('production') { ... }");
    return;
  }
  d.environment = *env;
  if (call.block) {
    std::set<std::string> seen;
    for (auto& stmt : call.block->items) {
      Node* c = as_call(*stmt);
      if (!c || (c->text != "canary" && c->text != "rollback")) {
        error(stmt->pos, "expected canary { ... } or rollback { ... } in deploy");
        continue;
      }
      if (!seen.insert(c->text).second) {
        error(c->pos, "Multiple occurrences of the " + c->text + " section in deploy");
        continue;
      }
      if (!require_block(*c, c->text)) continue;
      if (c->text == "rollback") {
        if (c->block->items.empty()) error(c->pos, "rollback needs at least one step");
        parse_steps_body(*c->block, d.rollback, 0);
        continue;
      }
      Canary canary;
      canary.pos = c->pos;
      std::set<std::string> fields;
      for (auto& fs : c->block->items) {
        Node* f = as_call(*fs);
        if (!f || (f->text != "weights" && f->text != "pause" && f->text != "analysis" &&
                   f->text != "failureLimit" && f->text != "inconclusive")) {
          error(fs->pos,
                "expected weights, pause, analysis, failureLimit or inconclusive in canary");
          continue;
        }
        if (!fields.insert(f->text).second) {
          error(f->pos, "Multiple occurrences of " + f->text + " in canary");
          continue;
        }
        if (f->text == "weights") {
          int last = 0;
          for (auto& item : f->items) {
            auto w = literal_int(item.get());
            if (!w || *w < 1 || *w > 100) {
              error(item->pos, "canary weights are whole percentages from 1 to 100");
              continue;
            }
            if (*w <= last) {
              error(item->pos, "canary weights must increase: " + std::to_string(*w) +
                                   " comes after " + std::to_string(last));
              continue;
            }
            last = static_cast<int>(*w);
            canary.weights.push_back(last);
          }
          if (f->items.empty())
            error(f->pos, "weights needs at least one percentage, e.g. weights 10, 50, 100");
        } else if (f->text == "pause") {
          if (f->items.empty() && f->named.empty()) {
            canary.manual_pause = true;  // wait for `gantry promote`
            continue;
          }
          auto text = f->items.size() == 1 ? literal_string(f->items[0].get()) : std::nullopt;
          std::optional<int64_t> secs;
          if (text) {
            secs = parse_duration(*text);
          } else if (f->items.size() == 1) {
            secs = literal_int(f->items[0].get());
          }
          if (!secs) {
            error(f->pos,
                  "pause takes a duration such as '30s', '2m' or '1h', or nothing to wait for "
                  "`gantry promote`");
            continue;
          }
          canary.pause_seconds = *secs;
        } else if (f->text == "inconclusive") {
          auto text = f->items.size() == 1 ? literal_string(f->items[0].get()) : std::nullopt;
          if (!text || (*text != "pause" && *text != "fail")) {
            error(f->pos,
                  "inconclusive takes 'fail' (the default: counts against failureLimit) or "
                  "'pause' (waits for `gantry promote`)");
            continue;
          }
          canary.inconclusive_pause = *text == "pause";
        } else if (f->text == "analysis") {
          if (!require_block(*f, "analysis")) continue;
          if (f->block->items.empty()) error(f->pos, "analysis needs at least one step");
          parse_steps_body(*f->block, canary.analysis, 0);
        } else {
          auto n = f->items.size() == 1 ? literal_int(f->items[0].get()) : std::nullopt;
          if (!n || *n < 0) {
            error(f->pos,
                  "failureLimit takes a whole number of failed analyses to tolerate (0 or more)");
            continue;
          }
          canary.failure_limit = static_cast<int>(*n);
        }
      }
      if (canary.weights.empty() && !fields.count("weights")) {
        error(c->pos, "canary needs weights, e.g. weights 10, 50, 100");
      }
      d.canary = std::move(canary);
    }
  } else if (!call.items.empty() && call.items.size() != 1) {
    error(call.pos, "deploy takes one environment name");
  }
  out = std::move(d);
}

void ModelBuilder::section_gmud(Node& call, std::optional<Gmud>& out) {
  if (!require_block(call, "gmud")) return;
  Gmud g;
  g.pos = call.pos;
  std::set<std::string> seen;
  for (auto& stmt : call.block->items) {
    Node* c = as_call(*stmt);
    if (!c || (c->text != "title" && c->text != "impact" && c->text != "rollbackPlan")) {
      error(stmt->pos,
            "expected title, impact or rollbackPlan in gmud (approvers and quorum come "
            "from the controller's environments, never from the pipeline)");
      continue;
    }
    if (!seen.insert(c->text).second) {
      error(c->pos, "Multiple occurrences of " + c->text + " in gmud");
      continue;
    }
    if (c->items.size() != 1 || !c->named.empty() || c->block) {
      error(c->pos, c->text + " takes one value");
      continue;
    }
    if (c->text == "impact") {
      auto v = literal_string(c->items[0].get());
      if (!v || (*v != "low" && *v != "medium" && *v != "high" && *v != "critical")) {
        error(c->items[0]->pos, "impact must be one of 'low', 'medium', 'high', 'critical'");
        continue;
      }
      g.impact = *v;
    } else if (c->text == "title") {
      g.title = std::move(c->items[0]);
    } else {
      g.rollback_plan = std::move(c->items[0]);
    }
  }
  out = std::move(g);
}

}  // namespace gantry::pipelines
