#pragma once
// Private to store/*.cpp: a borrowed, cached prepared statement, the
// migration list and the JSON codecs for list and map columns. Same
// threading as Store: one thread.

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "store/database.hpp"
#include "store/store.hpp"

namespace gantry::controller {

// A statement from the Database's cache, over the engine's cursor. Binding
// and stepping record the first failure, which is logged once; the
// destructor resets the cursor and clears its bindings for the next user.
// Move-only.
class Database::Statement {
 public:
  Statement(Cursor* cursor, const char* sql) : cursor_(cursor), sql_(sql) {}
  Statement(Statement&& other) noexcept
      : cursor_(std::exchange(other.cursor_, nullptr)), sql_(other.sql_), failed_(other.failed_) {}
  Statement& operator=(Statement&&) = delete;
  ~Statement();

  Statement& bind(int index, int64_t value);
  Statement& bind(int index, std::string_view value);

  // True with a row to read; false when done or on failure (see ok()).
  bool next();
  // Steps to the end; false on failure.
  bool run();
  bool ok() const { return cursor_ && !failed_; }

  int64_t int64(int column) const { return cursor_->int64(column); }
  std::string text(int column) const { return cursor_->text(column); }

 private:
  void fail();

  Cursor* cursor_;  // null when preparing failed
  const char* sql_;
  bool failed_ = false;
};

using Statement = Database::Statement;

// Columns holding a state (runs.status, approvals.kind, ...) store the
// words of gantry/common/states.hpp, so the text stays what it always was.
// A word this build does not know (written by a newer controller, or by
// hand) must not stop the controller: it reads as the value that does the
// least harm, here named after each function, and is logged
// (store_states.cpp).
RunStatus run_status_column(std::string_view word);            // failed: finished, not resumed
ApprovalStatus approval_status_column(std::string_view word);  // cancelled: never opens a gate
ReleaseStatus release_status_column(std::string_view word);    // failed: never the current one
GateKind gate_kind_column(std::string_view word);              // gmud: needs the approve permission

// The numbered schema scripts: entry i moves the schema version from i to
// i + 1 (PRAGMA user_version in SQLite, the schema_version table in
// PostgreSQL). Both lists have the same numbers and end in the same schema.
// Append only; never edit a script that has shipped.
const std::vector<const char*>& store_migrations();
const std::vector<const char*>& postgresql_migrations();  // migrations_postgresql.cpp

// Columns holding a map or a list, as JSON text (store_json.cpp). Decoding
// is lenient: malformed text gives an empty value and false.
std::string encode_string_map(const std::map<std::string, std::string>& values);
bool decode_string_map(std::string_view text, std::map<std::string, std::string>& out);
std::string encode_string_list(const std::vector<std::string>& values);
bool decode_string_list(std::string_view text, std::vector<std::string>& out);
std::string encode_instigators(const std::vector<InstigatorRecord>& list);
bool decode_instigators(std::string_view text, std::vector<InstigatorRecord>& out);
std::string encode_changes(const std::vector<ChangeRecord>& changes);
bool decode_changes(std::string_view text, std::vector<ChangeRecord>& out);
// stages.progress: StageRecord's gates, gate_values and rollout.
std::string encode_progress(const StageRecord& s);
bool decode_progress(std::string_view text, StageRecord& s);

}  // namespace gantry::controller
