// The SQLite connection: opening (pragmas, migrations), the statement
// cache, transactions and what a failure means (store/database.hpp).
#include "store/database.hpp"

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

// The SQL's first line is enough to say which statement failed.
std::string_view sql_head(const char* sql) {
  std::string_view s = sql ? sql : "";
  while (!s.empty() && (s.front() == '\n' || s.front() == ' ')) s.remove_prefix(1);
  return s.substr(0, std::min<size_t>(s.find('\n'), 60));
}

}  // namespace

// ---- Statement

Database::Statement::~Statement() {
  if (stmt_) {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
}

void Database::Statement::fail(int rc) {
  if (failed_) return;
  failed_ = true;
  std::string_view message = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
  log::error("store", "sql.failed", {{"error", message}, {"sql", sql_head(sql_)}});
}

Database::Statement& Database::Statement::bind(int index, int64_t value) {
  if (!stmt_) return *this;
  int rc = sqlite3_bind_int64(stmt_, index, value);
  if (rc != SQLITE_OK) fail(rc);
  return *this;
}

Database::Statement& Database::Statement::bind(int index, std::string_view value) {
  if (!stmt_) return *this;
  // A null pointer would bind SQL NULL; an empty view is still a string.
  const char* data = value.data() ? value.data() : "";
  int rc = sqlite3_bind_text64(stmt_, index, data, value.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  if (rc != SQLITE_OK) fail(rc);
  return *this;
}

bool Database::Statement::next() {
  if (!ok()) return false;
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc != SQLITE_DONE) fail(rc);
  return false;
}

bool Database::Statement::run() {
  while (next()) {
  }
  return ok();
}

int64_t Database::Statement::int64(int column) const {
  return sqlite3_column_int64(stmt_, column);
}

std::string Database::Statement::text(int column) const {
  const auto* p = sqlite3_column_text(stmt_, column);
  if (!p) return {};
  return std::string(reinterpret_cast<const char*>(p),
                     static_cast<size_t>(sqlite3_column_bytes(stmt_, column)));
}

// ---- opening

Database::Database(const std::string& data_dir) {
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

Database::~Database() {
  close();
}

void Database::close() {
  for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt);
  cache_.clear();
  if (db_) sqlite3_close(db_);
  db_ = nullptr;
}

void Database::open() {
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

void Database::migrate() {
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

int Database::schema_version() {
  Statement st = prepare("PRAGMA user_version");
  return st.next() ? static_cast<int>(st.int64(0)) : -1;
}

Database::Statement Database::prepare(const char* sql) {
  auto it = cache_.find(sql);
  if (it != cache_.end()) return Statement(db_, it->second, sql);
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK || !stmt) {
    log::error("store", "sql.prepare_failed",
               {{"error", sqlite3_errmsg(db_)}, {"sql", sql_head(sql)}});
    return Statement(db_, nullptr, sql);
  }
  cache_.emplace(sql, stmt);
  return Statement(db_, stmt, sql);
}

bool Database::exec(const char* sql) {
  char* message = nullptr;
  int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &message);
  if (rc != SQLITE_OK) {
    log::error("store", "sql.failed",
               {{"error", message ? message : sqlite3_errstr(rc)}, {"sql", sql_head(sql)}});
  }
  sqlite3_free(message);
  return rc == SQLITE_OK;
}

// ---- transactions

Status Database::transaction(const std::function<bool()>& body) {
  const bool outer = sqlite3_get_autocommit(db_) != 0;
  if (!exec(outer ? "BEGIN IMMEDIATE" : "SAVEPOINT gantry_tx")) {
    return outcome(false, "begin a transaction");
  }
  bool ok = false;
  try {
    ok = body();
  } catch (...) {
    rollback(outer);
    throw;
  }
  if (!ok) {
    rollback(outer);
    // A write inside failed (and said why), or the body gave up by itself.
    if (!healthy_) return last_failure_;
    return make_error(Errc::Conflict, "the change was abandoned");
  }
  if (exec(outer ? "COMMIT" : "RELEASE gantry_tx")) return outcome(true, {});
  Error why = failure("commit");
  rollback(outer);
  healthy_ = false;
  last_failure_ = why;
  return why;
}

Error Database::failure(std::string_view what) const {
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

Status Database::outcome(bool ok, std::string_view what) {
  if (ok) {
    healthy_ = true;
    return gantry::ok();
  }
  last_failure_ = failure(what);
  healthy_ = false;
  return last_failure_;
}

void Database::rollback(bool outer) {
  // SQLite may already have rolled back on its own (SQLITE_FULL, IOERR).
  if (sqlite3_get_autocommit(db_)) return;
  if (outer) {
    exec("ROLLBACK");
  } else if (exec("ROLLBACK TO gantry_tx")) {
    exec("RELEASE gantry_tx");
  }
}

int64_t Database::last_insert_id() {
  return sqlite3_last_insert_rowid(db_);
}

int64_t Database::changes() {
  return sqlite3_changes(db_);
}

}  // namespace gantry::controller
