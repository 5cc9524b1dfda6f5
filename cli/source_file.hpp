#pragma once
// Reads a pipeline file ("-" is standard input) with a size bound, so a huge
// or endless input is refused with a message instead of exhausting memory.

#include <iosfwd>
#include <optional>
#include <string>

namespace gantry::cli {

inline constexpr size_t kMaxPipelineBytes = 64u << 20;

struct SourceFile {
  std::string display_name;  // "<stdin>" for "-"
  std::string text;
};

// On failure returns nullopt and sets `error` to a user-facing message.
std::optional<SourceFile> read_source(const std::string& path, std::istream& in,
                                      std::string& error);

}  // namespace gantry::cli
