#pragma once
// Daemon logging: one logfmt line per event on stderr, e.g.
//   level=info comp=scheduler event=run.assigned run=42 agent=b3
// Build output never goes through here; it is a separate channel.
// Thread-safe: each line is written with one write(2).

#include <initializer_list>
#include <span>
#include <string_view>
#include <utility>

namespace gantry::log {

enum class Level { Debug, Info, Warn, Error };

using Field = std::pair<std::string_view, std::string_view>;

void set_min_level(Level level);
void write(Level level, std::string_view component, std::string_view event,
           std::initializer_list<Field> fields = {});
// The same with fields known only at run time (an audit entry's details).
void write_fields(Level level, std::string_view component, std::string_view event,
                  std::span<const Field> fields);

inline void info(std::string_view comp, std::string_view event,
                 std::initializer_list<Field> f = {}) {
  write(Level::Info, comp, event, f);
}
inline void warn(std::string_view comp, std::string_view event,
                 std::initializer_list<Field> f = {}) {
  write(Level::Warn, comp, event, f);
}
inline void error(std::string_view comp, std::string_view event,
                  std::initializer_list<Field> f = {}) {
  write(Level::Error, comp, event, f);
}

}  // namespace gantry::log
