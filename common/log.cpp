#include "gantry/common/log.hpp"

#include <unistd.h>

#include <atomic>
#include <string>

namespace gantry::log {
namespace {

std::atomic<Level> g_min_level{Level::Info};

const char* level_name(Level level) {
  switch (level) {
    case Level::Debug:
      return "debug";
    case Level::Info:
      return "info";
    case Level::Warn:
      return "warn";
    case Level::Error:
      return "error";
  }
  return "info";
}

// logfmt: quote values with spaces, quotes or '=' so one line stays one event.
void append_value(std::string& out, std::string_view v) {
  bool quote = v.empty() || v.find_first_of(" \"=\t\n") != std::string_view::npos;
  if (!quote) {
    out += v;
    return;
  }
  out += '"';
  for (char c : v) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  out += '"';
}

}  // namespace

void set_min_level(Level level) {
  g_min_level.store(level);
}

void write(Level level, std::string_view component, std::string_view event,
           std::initializer_list<Field> fields) {
  write_fields(level, component, event, std::span<const Field>(fields.begin(), fields.size()));
}

void write_fields(Level level, std::string_view component, std::string_view event,
                  std::span<const Field> fields) {
  if (level < g_min_level.load()) return;
  std::string line = "level=";
  line += level_name(level);
  line += " comp=";
  line += component;
  line += " event=";
  line += event;
  for (const auto& [k, v] : fields) {
    line += ' ';
    line += k;
    line += '=';
    append_value(line, v);
  }
  line += '\n';
  ssize_t rc = ::write(STDERR_FILENO, line.data(), line.size());
  (void)rc;
}

}  // namespace gantry::log
