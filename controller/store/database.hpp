#pragma once
// Private to store/: the one SQLite connection the record stores share,
// with its statement cache, transactions and health. A failed write makes
// it unhealthy until the next write succeeds; failure() says what SQLite's
// error means for the caller (Unavailable for busy/full/I/O, so the API
// answers 503 and the engine retries). Same threading as Store: one thread.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "gantry/common/result.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace gantry::controller {

class Database {
 public:
  class Statement;  // store_impl.hpp

  // Creates data_dir and gantry.db as needed and migrates the schema;
  // throws std::runtime_error when it is unusable (a startup error).
  explicit Database(const std::string& data_dir);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // A cached prepared statement (a failed prepare is logged and fails the
  // statement's first step).
  Statement prepare(const char* sql);
  bool exec(const char* sql);
  // See Store::transaction.
  [[nodiscard]] Status transaction(const std::function<bool()>& body);
  // The outcome of a write: records health and, on failure, an Error with
  // SQLite's reason.
  Status outcome(bool ok, std::string_view what);
  Error failure(std::string_view what) const;
  int64_t last_insert_id();
  int64_t changes();  // rows the last statement changed

  bool healthy() const { return healthy_; }
  const Error& last_failure() const { return last_failure_; }
  int schema_version();  // PRAGMA user_version

 private:
  void open();
  void migrate();
  void close();
  void rollback(bool outer);

  std::string db_path_;
  bool healthy_ = true;
  Error last_failure_;
  sqlite3* db_ = nullptr;
  std::unordered_map<std::string, sqlite3_stmt*> cache_;  // prepared once, by SQL text
};

}  // namespace gantry::controller
