#pragma once
// Trash: removes directories without making anyone wait for it. discard()
// moves a directory into WORK/state/trash/ with one rename, so it is gone
// from where it was at once, also if the agent crashes right after;
// empty_later() deletes everything in the trash on the Trash's own thread,
// off the event loop and off the path from one stage to the next (deleting a
// job's files, a workspace or a mirror takes longer than starting a job).
// A trash left by a crash is emptied by the next process's first
// empty_later(). Not for directories outside WORK: the rename must stay on
// one file system (it falls back to deleting in place).
//
// Threading: discard() and empty_later() on one thread (the agent's loop);
// the deleting thread is started by the first empty_later() and joined by
// the destructor, which waits for a deletion under way to end.

#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

namespace gantry::agent {

class Trash {
 public:
  explicit Trash(std::string state_dir);
  ~Trash();
  Trash(const Trash&) = delete;
  Trash& operator=(const Trash&) = delete;

  void discard(const std::string& dir);
  void empty_later();
  // Deletes the trash's contents on the calling thread (tests, shutdown).
  void empty_now();

 private:
  void run();

  std::string trash_dir_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool requested_ = false, stopping_ = false;
  std::thread thread_;
};

}  // namespace gantry::agent
