#pragma once
// Private to store/: the SQLite engine of Database, one file
// <data_dir>/gantry.db in WAL mode, the schema version in PRAGMA
// user_version. The default: no server to run. Same threading as Store.

#include <memory>
#include <string>
#include <unordered_map>

#include "store/database.hpp"

struct sqlite3;

namespace gantry::controller {

class SqliteDatabase final : public Database {
 public:
  // Creates data_dir and gantry.db as needed and migrates the schema;
  // throws std::runtime_error when it is unusable (a startup error).
  explicit SqliteDatabase(const std::string& data_dir);
  // data_dir's gantry.db read-only, to copy it elsewhere (migrate_sqlite.hpp): nothing is
  // created, configured or migrated. Throws std::runtime_error when the file is missing, open in
  // another process (a running controller), or of another schema version than this build's.
  struct ReadOnly {};
  SqliteDatabase(const std::string& data_dir, ReadOnly);
  ~SqliteDatabase() override;

  bool exec(const char* sql) override;
  Error failure(std::string_view what) const override;
  int64_t changes() override;
  int schema_version() override;  // PRAGMA user_version
  bool postgresql() const override { return false; }

 private:
  Cursor* cursor(const char* sql) override;
  bool in_transaction() override;
  const char* begin_sql() const override { return read_only_ ? "BEGIN" : "BEGIN IMMEDIATE"; }
  void open();
  void migrate();
  void close();

  std::string db_path_;
  sqlite3* db_ = nullptr;
  bool read_only_ = false;
  std::unordered_map<std::string, std::unique_ptr<Cursor>> cache_;  // prepared once, by SQL text
};

}  // namespace gantry::controller
