// The store's facade (store/store.hpp): the database (SQLite or
// PostgreSQL) and its record stores, and the layout of log and artifact
// files under data_dir.
#include "store/store.hpp"

#include <filesystem>

#include "gantry/common/log.hpp"
#include "store/database.hpp"
#include "store/store_impl.hpp"

namespace gantry::controller {
namespace fs = std::filesystem;

namespace {

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

Store::Store(const std::string& data_dir, const std::string& database_url)
    : data_dir_(data_dir),
      db_(open_database(data_dir, database_url)),
      runs_(*db_),
      gates_(*db_),
      events_(*db_),
      audit_(*db_),
      retention_(*db_) {}

Store::~Store() = default;

Status Store::transaction(const std::function<bool()>& body) {
  return db_->transaction(body);
}

void Store::set_fence(int64_t term, const std::string& holder, std::function<void()> on_fenced) {
  db_->set_fence(term, holder, std::move(on_fenced));
}

void Store::set_statement_deadline(int64_t ms) {
  db_->set_statement_deadline(ms);
}

bool Store::healthy() const {
  return db_->healthy();
}

const Error& Store::last_failure() const {
  return db_->last_failure();
}

int Store::schema_version() {
  return db_->schema_version();
}

// ---- counts and files

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

std::string Store::run_logs_dir(int64_t run_id) const {
  return (fs::path(data_dir_) / "logs" / std::to_string(run_id)).string();
}

std::string Store::run_artifacts_dir(int64_t run_id) const {
  return (fs::path(data_dir_) / "artifacts" / std::to_string(run_id)).string();
}

}  // namespace gantry::controller
