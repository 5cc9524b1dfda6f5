#pragma once
// Helpers for tests that read fixture files from the source tree and the
// shared conformance corpus (../shared, beside the checkout).

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace gantry::testing {

inline std::string read_file(const std::filesystem::path& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

inline void write_file(const std::filesystem::path& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary);
  f << text;
}

inline std::filesystem::path source_dir() {
  return GANTRY_SOURCE_DIR;
}
inline std::filesystem::path fixtures_dir() {
  return source_dir() / "tests" / "fixtures" / "pipelines";
}
inline std::filesystem::path shared_dir() {
  return GANTRY_SHARED_DIR;
}

// Golden files are rewritten instead of compared when GANTRY_UPDATE_GOLDEN=1.
inline bool update_golden() {
  const char* v = std::getenv("GANTRY_UPDATE_GOLDEN");
  return v != nullptr && std::string(v) == "1";
}

}  // namespace gantry::testing
