// Opening the database (pragmas, migrations), the statement cache,
// transactions and the file layout under data_dir. Records are read and
// written in store_runs.cpp and store_records.cpp.
#include "store/store.hpp"

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

// Keeps [A-Za-z0-9._-]; a name made only of dots would walk the tree.
std::string safe_name(const std::string& id) {
  constexpr size_t kMaxLength = 80;
  const bool all_dots = id.find_first_not_of('.') == std::string::npos;  // or empty
  bool changed = all_dots;
  std::string out;
  for (char ch : id) {
    bool keep = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                ch == '_' || ch == '-' || (ch == '.' && !all_dots);
    out += keep ? ch : '_';
    changed = changed || !keep;
  }
  if (out.size() > kMaxLength) {
    out.resize(kMaxLength);
    changed = true;
  }
  if (!changed) return out;
  // FNV-1a: enough to keep distinct stage ids of one run apart.
  uint64_t h = 14695981039346656037ull;
  for (unsigned char ch : id) h = (h ^ ch) * 1099511628211ull;
  static constexpr char kDigits[] = "0123456789abcdef";
  out += '-';
  for (int shift = 60; shift >= 0; shift -= 4) out += kDigits[(h >> shift) & 0xf];
  return out;
}

}  // namespace

// ---- Statement

Store::Statement::~Statement() {
  if (stmt_) {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
}

void Store::Statement::fail(int rc) {
  if (failed_) return;
  failed_ = true;
  std::string_view message = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
  log::error("store", "sql.failed", {{"error", message}, {"sql", sql_head(sql_)}});
}

Store::Statement& Store::Statement::bind(int index, int64_t value) {
  if (!stmt_) return *this;
  int rc = sqlite3_bind_int64(stmt_, index, value);
  if (rc != SQLITE_OK) fail(rc);
  return *this;
}

Store::Statement& Store::Statement::bind(int index, std::string_view value) {
  if (!stmt_) return *this;
  // A null pointer would bind SQL NULL; an empty view is still a string.
  const char* data = value.data() ? value.data() : "";
  int rc = sqlite3_bind_text64(stmt_, index, data, value.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  if (rc != SQLITE_OK) fail(rc);
  return *this;
}

bool Store::Statement::next() {
  if (!ok()) return false;
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc != SQLITE_DONE) fail(rc);
  return false;
}

bool Store::Statement::run() {
  while (next()) {
  }
  return ok();
}

int64_t Store::Statement::int64(int column) const {
  return sqlite3_column_int64(stmt_, column);
}

std::string Store::Statement::text(int column) const {
  const auto* p = sqlite3_column_text(stmt_, column);
  if (!p) return {};
  return std::string(reinterpret_cast<const char*>(p),
                     static_cast<size_t>(sqlite3_column_bytes(stmt_, column)));
}

// ---- opening

Store::Store(const std::string& data_dir) : data_dir_(data_dir) {
  std::error_code ec;
  fs::create_directories(data_dir_, ec);
  if (ec)
    throw std::runtime_error("cannot create data directory " + data_dir_ + ": " + ec.message());
  db_path_ = (fs::path(data_dir_) / "gantry.db").string();
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

Store::~Store() {
  close();
}

void Store::close() {
  for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt);
  cache_.clear();
  if (db_) sqlite3_close(db_);
  db_ = nullptr;
}

void Store::open() {
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

void Store::migrate() {
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

int Store::schema_version() {
  Statement st = prepare("PRAGMA user_version");
  return st.next() ? static_cast<int>(st.int64(0)) : -1;
}

Store::Statement Store::prepare(const char* sql) {
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

bool Store::exec(const char* sql) {
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

Status Store::transaction(const std::function<bool()>& body) {
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

Error Store::failure(std::string_view what) const {
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

Status Store::outcome(bool ok, std::string_view what) {
  if (ok) {
    healthy_ = true;
    return gantry::ok();
  }
  last_failure_ = failure(what);
  healthy_ = false;
  return last_failure_;
}

void Store::rollback(bool outer) {
  // SQLite may already have rolled back on its own (SQLITE_FULL, IOERR).
  if (sqlite3_get_autocommit(db_)) return;
  if (outer) {
    exec("ROLLBACK");
  } else if (exec("ROLLBACK TO gantry_tx")) {
    exec("RELEASE gantry_tx");
  }
}

// ---- counts and files

std::map<std::string, int64_t> Store::run_counts_by_status() {
  std::map<std::string, int64_t> counts;
  for (RunStatus s :
       {RunStatus::Queued, RunStatus::Waiting, RunStatus::Running, RunStatus::Succeeded,
        RunStatus::Failed, RunStatus::Unstable, RunStatus::Aborted}) {
    counts[std::string(to_string(s))] = 0;
  }
  Statement st = prepare("SELECT status, COUNT(*) FROM runs GROUP BY status");
  while (st.next()) counts[st.text(0)] = st.int64(1);
  return counts;
}

std::string Store::log_path(int64_t run_id, const std::string& stage_id, int attempt) const {
  fs::path dir = fs::path(data_dir_) / "logs" / std::to_string(run_id) / safe_name(stage_id);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) log::error("store", "log_dir.failed", {{"dir", dir.string()}, {"error", ec.message()}});
  return (dir / (std::to_string(attempt) + ".log")).string();
}

std::string Store::artifact_dir(int64_t run_id) const {
  fs::path dir = fs::path(data_dir_) / "artifacts" / std::to_string(run_id);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec)
    log::error("store", "artifact_dir.failed", {{"dir", dir.string()}, {"error", ec.message()}});
  return dir.string();
}

}  // namespace gantry::controller
