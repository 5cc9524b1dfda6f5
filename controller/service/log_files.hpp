#pragma once
// The controller's side of log shipping: one append-only file per stage
// attempt (the file is the truth: its size is the committed offset, also
// after a restart). append() applies the exactly-once rule by offset:
// a chunk at the committed offset is written; one wholly below it is a
// duplicate (acknowledged again, not written); one past it is a gap (the
// agent must rewind). Acknowledgements wait for durability: sync() fdatasyncs
// every file written since the last call (group commit), and only then does
// the caller send the acks it collected.
//
// Plain file I/O, no Asio. One thread (the controller's loop).

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace gantry::controller {

class LogFiles {
 public:
  enum class Outcome { Written, Duplicate, Gap, TooLarge, Error };

  ~LogFiles();
  // Opens (or reuses) the file for `job_id`'s log at `path`.
  Outcome append(const std::string& job_id, const std::string& path, uint64_t offset,
                 std::string_view bytes, uint64_t& committed);
  uint64_t committed(const std::string& job_id, const std::string& path);
  // fdatasyncs what was written since the last sync. A file whose sync
  // failed is cut back to what the last good sync made durable (its bytes
  // since may be lost to the page cache), and its job is returned: the
  // agent sends them again from there.
  std::vector<std::string> sync();
  void close(const std::string& job_id);

  static uint64_t file_size(const std::string& path);

 private:
  struct File {
    int fd = -1;
    std::string path;
    uint64_t size = 0;
    uint64_t synced = 0;  // durable
  };
  File* open(const std::string& job_id, const std::string& path);

  std::map<std::string, File> files_;
  std::set<int> dirty_;
};

}  // namespace gantry::controller
