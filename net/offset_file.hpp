#pragma once
// OffsetFile: a Beast File that presents a file from an offset on, so http::basic_file_body can
// stream the tail of a log (Boost 1.81's file_body always sends the whole file).
// size() is the size past the offset; pos() and seek() are relative to it.

#include <boost/beast/core/file.hpp>

#include <algorithm>
#include <cstdint>

namespace gantry::net {

class OffsetFile {
 public:
  using error_code = boost::system::error_code;

  bool is_open() const { return file_.is_open(); }
  void close(error_code& ec) { file_.close(ec); }
  void open(const char* path, boost::beast::file_mode mode, error_code& ec) {
    offset_ = 0;
    file_.open(path, mode, ec);
  }
  // Skips the first `offset` bytes (clamped to the file size).
  void skip(std::uint64_t offset, error_code& ec) {
    std::uint64_t total = file_.size(ec);
    if (ec) return;
    offset_ = std::min(offset, total);
    file_.seek(offset_, ec);
  }
  std::uint64_t size(error_code& ec) const {
    std::uint64_t total = file_.size(ec);
    return total > offset_ ? total - offset_ : 0;
  }
  std::uint64_t pos(error_code& ec) const { return file_.pos(ec) - offset_; }
  void seek(std::uint64_t offset, error_code& ec) { file_.seek(offset_ + offset, ec); }
  std::size_t read(void* buffer, std::size_t n, error_code& ec) const {
    return file_.read(buffer, n, ec);
  }
  std::size_t write(const void* buffer, std::size_t n, error_code& ec) {
    return file_.write(buffer, n, ec);
  }

 private:
  boost::beast::file file_;
  std::uint64_t offset_ = 0;
};

}  // namespace gantry::net
