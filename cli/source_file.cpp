#include "source_file.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <istream>

namespace gantry::cli {

namespace {

bool read_bounded(std::istream& s, std::string& out) {
  char buf[65536];
  while (s.read(buf, sizeof buf) || s.gcount() > 0) {
    out.append(buf, static_cast<size_t>(s.gcount()));
    if (out.size() > kMaxPipelineBytes) return false;
  }
  return true;
}

}  // namespace

std::optional<SourceFile> read_source(const std::string& path, std::istream& in,
                                      std::string& error) {
  SourceFile f;
  if (path == "-") {
    f.display_name = "<stdin>";
    if (!read_bounded(in, f.text)) {
      error = "<stdin>: larger than " + std::to_string(kMaxPipelineBytes >> 20) + " MiB";
      return std::nullopt;
    }
    return f;
  }
  f.display_name = path;
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    error = path + ": cannot open: " + std::strerror(errno);
    return std::nullopt;
  }
  if (!read_bounded(file, f.text)) {
    error = path + ": larger than " + std::to_string(kMaxPipelineBytes >> 20) + " MiB";
    return std::nullopt;
  }
  if (file.bad()) {
    error = path + ": read error";
    return std::nullopt;
  }
  return f;
}

}  // namespace gantry::cli
