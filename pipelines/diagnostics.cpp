#include "gantry/pipelines/diagnostics.hpp"

#include <algorithm>

namespace gantry::pipelines {

void Diagnostics::add(Severity severity, Pos pos, std::string message) {
  (severity == Severity::Error ? errors_ : warnings_)++;
  if (items_.size() >= kMaxRecorded) return;
  items_.push_back(Diagnostic{severity, pos, std::move(message)});
}

void Diagnostics::error(Pos pos, std::string message) {
  add(Severity::Error, pos, std::move(message));
}

void Diagnostics::warning(Pos pos, std::string message) {
  add(Severity::Warning, pos, std::move(message));
}

void Diagnostics::sort() {
  std::stable_sort(items_.begin(), items_.end(), [](const Diagnostic& a, const Diagnostic& b) {
    if (a.pos.line != b.pos.line) return a.pos.line < b.pos.line;
    return a.pos.col < b.pos.col;
  });
  auto same = [](const Diagnostic& a, const Diagnostic& b) {
    return a.pos == b.pos && a.severity == b.severity && a.message == b.message;
  };
  items_.erase(std::unique(items_.begin(), items_.end(), same), items_.end());
}

namespace {

std::string_view source_line(std::string_view source, uint32_t line) {
  size_t start = 0;
  for (uint32_t l = 1; l < line; ++l) {
    size_t nl = source.find('\n', start);
    if (nl == std::string_view::npos) return {};
    start = nl + 1;
  }
  size_t end = source.find('\n', start);
  std::string_view text = source.substr(start, end == std::string_view::npos ? end : end - start);
  if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
  return text;
}

}  // namespace

std::string render(const Diagnostic& d, std::string_view file, std::string_view source) {
  std::string out;
  out += file;
  out += ':' + std::to_string(d.pos.line) + ':' + std::to_string(d.pos.col) + ": ";
  out += d.severity == Severity::Error ? "error: " : "warning: ";
  out += d.message;
  out += '\n';
  std::string_view text = source_line(source, d.pos.line);
  if (d.pos.line == 0 || text.empty()) return out;
  constexpr size_t kMaxShown = 200;
  if (text.size() > kMaxShown && d.pos.col < kMaxShown) text = text.substr(0, kMaxShown);
  out += text;
  out += '\n';
  // Keep tabs so the caret lines up under the same column in a terminal.
  for (size_t i = 0; i + 1 < d.pos.col && i < text.size(); ++i) out += text[i] == '\t' ? '\t' : ' ';
  out += "^\n";
  return out;
}

std::string render_all(const Diagnostics& d, std::string_view file, std::string_view source) {
  std::string out;
  for (const auto& item : d.all()) out += render(item, file, source);
  return out;
}

}  // namespace gantry::pipelines
