// The SQLite engine: opening (pragmas, migrations), the statement cache and
// what a failure means (store/sqlite_database.hpp).
#include "store/sqlite_database.hpp"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>
#include <stdexcept>

#include "gantry/common/log.hpp"
#include "store/store_impl.hpp"

namespace gantry::controller {
namespace fs = std::filesystem;

namespace {

// Short: a locked database makes the caller answer 503 and retry later,
// rather than hold the event loop.
constexpr int kBusyTimeoutMs = 100;

class SqliteCursor final : public Database::Cursor {
 public:
  SqliteCursor(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  ~SqliteCursor() override { sqlite3_finalize(stmt_); }

  bool bind(int index, int64_t value) override {
    return check(sqlite3_bind_int64(stmt_, index, value));
  }
  bool bind(int index, std::string_view value) override {
    // A null pointer would bind SQL NULL; an empty view is still a string.
    const char* data = value.data() ? value.data() : "";
    return check(
        sqlite3_bind_text64(stmt_, index, data, value.size(), SQLITE_TRANSIENT, SQLITE_UTF8));
  }
  Step step() override {
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return Step::Row;
    if (rc == SQLITE_DONE) return Step::Done;
    rc_ = rc;
    return Step::Failed;
  }
  int64_t int64(int column) const override { return sqlite3_column_int64(stmt_, column); }
  std::string text(int column) const override {
    const auto* p = sqlite3_column_text(stmt_, column);
    if (!p) return {};
    return std::string(reinterpret_cast<const char*>(p),
                       static_cast<size_t>(sqlite3_column_bytes(stmt_, column)));
  }
  void reset() override {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  std::string error() const override { return db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc_); }

 private:
  bool check(int rc) {
    if (rc == SQLITE_OK) return true;
    rc_ = rc;
    return false;
  }

  sqlite3* db_;
  sqlite3_stmt* stmt_;
  int rc_ = SQLITE_OK;
};

// The process that has the file open, or 0. SQLite holds a read lock on the shared range of the
// lock-byte page (https://sqlite.org/fileformat2.html#the_lock_byte_page) for as long as a
// connection in WAL mode is open; this asks who would stop a write lock there. Called before this
// process opens the file: closing a descriptor drops the process's own locks on it.
pid_t open_elsewhere(const std::string& path) {
  constexpr off_t kSharedFirst = 0x40000002;
  constexpr off_t kSharedSize = 510;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  struct flock lock {};
  lock.l_type = F_WRLCK;
  lock.l_whence = SEEK_SET;
  lock.l_start = kSharedFirst;
  lock.l_len = kSharedSize;
  pid_t holder = 0;
  if (::fcntl(fd, F_GETLK, &lock) == 0 && lock.l_type != F_UNLCK) holder = lock.l_pid;
  ::close(fd);
  return holder;
}

}  // namespace

SqliteDatabase::SqliteDatabase(const std::string& data_dir, ReadOnly) : read_only_(true) {
  db_path_ = (fs::path(data_dir) / "gantry.db").string();
  std::error_code ec;
  if (!fs::is_regular_file(db_path_, ec)) throw std::runtime_error("no database at " + db_path_);
  if (pid_t holder = open_elsewhere(db_path_)) {
    throw std::runtime_error(db_path_ + " is open in process " + std::to_string(holder) +
                             " (a controller?): stop it first");
  }
  if (sqlite3_open_v2(db_path_.c_str(), &db_, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX,
                      nullptr) != SQLITE_OK) {
    std::string message = db_ ? sqlite3_errmsg(db_) : "out of memory";
    close();
    throw std::runtime_error("cannot open " + db_path_ + ": " + message);
  }
  sqlite3_extended_result_codes(db_, 1);
  sqlite3_busy_timeout(db_, kBusyTimeoutMs);
  const int current = schema_version();
  const int known = static_cast<int>(store_migrations().size());
  if (current != known) {
    close();
    throw std::runtime_error(
        current < 0 ? "cannot read " + db_path_
        : current < known
            ? db_path_ + " has schema " + std::to_string(current) + ", this controller's is " +
                  std::to_string(known) + ": start this controller on it once (it migrates), " +
                  "stop it, and copy again"
            : db_path_ + ": database schema " + std::to_string(current) +
                  " is newer than this controller (" + std::to_string(known) + ")");
  }
}

SqliteDatabase::SqliteDatabase(const std::string& data_dir) {
  std::error_code ec;
  fs::create_directories(data_dir, ec);
  if (ec)
    throw std::runtime_error("cannot create data directory " + data_dir + ": " + ec.message());
  db_path_ = (fs::path(data_dir) / "gantry.db").string();
  try {
    open();
    migrate();
  } catch (...) {
    close();
    throw;
  }
  log::info("store", "opened",
            {{"db", db_path_}, {"schema", std::to_string(store_migrations().size())}});
}

SqliteDatabase::~SqliteDatabase() {
  close();
}

void SqliteDatabase::close() {
  cache_.clear();
  if (db_) sqlite3_close(db_);
  db_ = nullptr;
}

void SqliteDatabase::open() {
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  if (sqlite3_open_v2(db_path_.c_str(), &db_, flags, nullptr) != SQLITE_OK) {
    std::string message = db_ ? sqlite3_errmsg(db_) : "out of memory";
    throw std::runtime_error("cannot open " + db_path_ + ": " + message);
  }
  sqlite3_extended_result_codes(db_, 1);
  sqlite3_busy_timeout(db_, kBusyTimeoutMs);
  std::string mode;
  {
    Statement st = prepare("PRAGMA journal_mode = WAL");
    if (st.next()) mode = st.text(0);
  }
  if (mode != "wal") {
    throw std::runtime_error("cannot use " + db_path_ + ": " +
                             (mode.empty()
                                  ? std::string(sqlite3_errmsg(db_))
                                  : "WAL journal unavailable (journal_mode is " + mode + ")"));
  }
  if (!exec("PRAGMA synchronous = NORMAL") || !exec("PRAGMA foreign_keys = ON")) {
    throw std::runtime_error("cannot configure " + db_path_ + ": " + sqlite3_errmsg(db_));
  }
}

void SqliteDatabase::migrate() {
  if (!exec("BEGIN IMMEDIATE")) {
    throw std::runtime_error("cannot lock " + db_path_ + ": " + sqlite3_errmsg(db_));
  }
  // Read inside the transaction: another process may have migrated meanwhile.
  const int current = schema_version();
  const int known = static_cast<int>(store_migrations().size());
  std::string error;
  if (current < 0) {
    error = "cannot read the schema version of " + db_path_;
  } else if (current > known) {
    error = db_path_ + ": database schema " + std::to_string(current) +
            " is newer than this controller (" + std::to_string(known) + ")";
  }
  for (int v = current; error.empty() && v < known; ++v) {
    char* message = nullptr;
    if (sqlite3_exec(db_, store_migrations()[static_cast<size_t>(v)], nullptr, nullptr, &message) !=
        SQLITE_OK) {
      error = db_path_ + ": migration " + std::to_string(v + 1) +
              " failed: " + (message ? message : "unknown error");
    }
    sqlite3_free(message);
  }
  if (error.empty() && current != known) {
    std::string sql = "PRAGMA user_version = " + std::to_string(known);
    if (!exec(sql.c_str())) error = "cannot set the schema version of " + db_path_;
  }
  if (error.empty() && exec("COMMIT")) {
    if (current != known) {
      log::info("store", "migrated",
                {{"from", std::to_string(current)}, {"to", std::to_string(known)}});
    }
    return;
  }
  if (!sqlite3_get_autocommit(db_)) exec("ROLLBACK");
  throw std::runtime_error(error.empty() ? "cannot commit the schema of " + db_path_ : error);
}

int SqliteDatabase::schema_version() {
  Statement st = prepare("PRAGMA user_version");
  return st.next() ? static_cast<int>(st.int64(0)) : -1;
}

Database::Cursor* SqliteDatabase::cursor(const char* sql) {
  auto it = cache_.find(sql);
  if (it != cache_.end()) return it->second.get();
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK || !stmt) {
    log::error("store", "sql.prepare_failed",
               {{"error", sqlite3_errmsg(db_)}, {"sql", sql_head(sql)}});
    return nullptr;
  }
  return cache_.emplace(sql, std::make_unique<SqliteCursor>(db_, stmt)).first->second.get();
}

bool SqliteDatabase::exec(const char* sql) {
  char* message = nullptr;
  int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &message);
  if (rc != SQLITE_OK) {
    log::error("store", "sql.failed",
               {{"error", message ? message : sqlite3_errstr(rc)}, {"sql", sql_head(sql)}});
  }
  sqlite3_free(message);
  return rc == SQLITE_OK;
}

bool SqliteDatabase::in_transaction() {
  return sqlite3_get_autocommit(db_) == 0;
}

Error SqliteDatabase::failure(std::string_view what) const {
  int rc = db_ ? sqlite3_errcode(db_) : SQLITE_ERROR;
  std::string message = std::string(what) + ": " + (db_ ? sqlite3_errmsg(db_) : "no database");
  switch (rc) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return make_error(Errc::Unavailable, "the database is busy (" + message + ")");
    case SQLITE_FULL:
      return make_error(Errc::Unavailable, "the disk is full (" + message + ")");
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return make_error(Errc::Unavailable, "the database failed (" + message + ")");
    default:
      return make_error(Errc::Internal, message);
  }
}

int64_t SqliteDatabase::changes() {
  return sqlite3_changes(db_);
}

}  // namespace gantry::controller
