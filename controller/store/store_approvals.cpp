// Change requests and their decisions.
#include "gantry/common/log.hpp"
#include "store/store.hpp"
#include "store/store_impl.hpp"

namespace gantry::controller {
namespace {

#define GANTRY_APPROVAL_COLUMNS                                                         \
  "id, kind, run_id, stage_id, environment, repo, commit_sha, status, title, impact, "  \
  "rollback_plan, message, submitter, parameters, required, triggered_by, range_base, " \
  "changes, requested_at, expires_at, decided_at, reason, values_json, base_release, "  \
  "range_unknown, instigators, run_parameters"

template <typename Statement>
ApprovalRecord read_approval(const Statement& st) {
  ApprovalRecord a;
  a.id = st.int64(0);
  a.kind = gate_kind_column(st.text(1));
  a.run_id = st.int64(2);
  a.stage_id = st.text(3);
  a.environment = st.text(4);
  a.repo = st.text(5);
  a.commit = st.text(6);
  a.status = approval_status_column(st.text(7));
  a.title = st.text(8);
  a.impact = st.text(9);
  a.rollback_plan = st.text(10);
  a.message = st.text(11);
  a.submitter = st.text(12);
  a.parameters = st.text(13);
  a.required = static_cast<int>(st.int64(14));
  a.triggered_by = st.text(15);
  a.range_base = st.text(16);
  if (!decode_changes(st.text(17), a.changes))
    log::warn("store", "approval.bad_changes", {{"approval", std::to_string(a.id)}});
  a.requested_at = st.int64(18);
  a.expires_at = st.int64(19);
  a.decided_at = st.int64(20);
  a.reason = st.text(21);
  decode_string_map(st.text(22), a.values);
  a.base_release = st.int64(23);
  a.range_unknown = st.text(24);
  decode_instigators(st.text(25), a.instigators);
  decode_string_map(st.text(26), a.run_parameters);
  return a;
}

}  // namespace

Result<int64_t> GateStore::create_approval(ApprovalRecord& a) {
  Statement st = db_.prepare(
      "INSERT INTO approvals (kind, run_id, stage_id, environment, repo, commit_sha, status, "
      "title, impact, rollback_plan, message, submitter, parameters, required, triggered_by, "
      "range_base, changes, requested_at, expires_at, decided_at, reason, values_json, "
      "base_release, range_unknown, instigators, run_parameters) VALUES (?1, ?2, ?3, ?4, ?5, ?6, "
      "?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, "
      "?25, ?26) RETURNING id");
  st.bind(1, to_string(a.kind)).bind(2, a.run_id).bind(3, a.stage_id).bind(4, a.environment);
  st.bind(5, a.repo)
      .bind(6, a.commit)
      .bind(7, to_string(a.status))
      .bind(8, a.title)
      .bind(9, a.impact);
  st.bind(10, a.rollback_plan).bind(11, a.message).bind(12, a.submitter).bind(13, a.parameters);
  st.bind(14, int64_t{a.required}).bind(15, a.triggered_by).bind(16, a.range_base);
  st.bind(17, encode_changes(a.changes)).bind(18, a.requested_at).bind(19, a.expires_at);
  st.bind(20, a.decided_at).bind(21, a.reason).bind(22, encode_string_map(a.values));
  st.bind(23, a.base_release).bind(24, a.range_unknown).bind(25, encode_instigators(a.instigators));
  st.bind(26, encode_string_map(a.run_parameters));
  if (!st.next()) return db_.outcome(false, "store a change request").error();
  a.id = st.int64(0);
  if (Status s = db_.outcome(st.run(), "store a change request"); !s) return s.error();
  return a.id;
}

Status GateStore::update_approval(const ApprovalRecord& a) {
  Statement st = db_.prepare(
      "UPDATE approvals SET status = ?2, decided_at = ?3, reason = ?4, values_json = ?5 "
      "WHERE id = ?1");
  st.bind(1, a.id).bind(2, to_string(a.status)).bind(3, a.decided_at).bind(4, a.reason);
  st.bind(5, encode_string_map(a.values));
  return db_.outcome(st.run(), "update a change request");
}

Status GateStore::add_decision(int64_t approval_id, const DecisionRecord& d) {
  Statement st = db_.prepare(
      "INSERT INTO decisions (approval_id, \"user\", approve, comment, at, values_json) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO NOTHING RETURNING approval_id");
  st.bind(1, approval_id).bind(2, d.user).bind(3, int64_t{d.approve ? 1 : 0}).bind(4, d.comment);
  st.bind(5, d.at).bind(6, encode_string_map(d.values));
  bool added = st.next();
  if (!st.ok()) return db_.outcome(false, "store a decision");
  (void)st.run();
  // No row: this user had decided already.
  if (!added) return make_error(Errc::Conflict, d.user + " has decided already");
  return db_.outcome(true, {});
}

Result<std::optional<ApprovalRecord>> GateStore::approval(int64_t id) {
  std::optional<ApprovalRecord> out;
  {
    Statement st = db_.prepare("SELECT " GANTRY_APPROVAL_COLUMNS " FROM approvals WHERE id = ?1");
    st.bind(1, id);
    if (!st.next()) {
      if (!st.ok()) return db_.failure("read a change request");
      return out;
    }
    out = read_approval(st);
  }
  Statement d = db_.prepare(
      "SELECT \"user\", approve, comment, at, values_json FROM decisions WHERE approval_id = ?1 "
      "ORDER BY at, \"user\"");
  d.bind(1, id);
  while (d.next()) {
    DecisionRecord rec;
    rec.user = d.text(0);
    rec.approve = d.int64(1) != 0;
    rec.comment = d.text(2);
    rec.at = d.int64(3);
    decode_string_map(d.text(4), rec.values);
    out->decisions.push_back(std::move(rec));
  }
  if (!d.ok()) return db_.failure("read decisions");
  return out;
}

std::vector<ApprovalRecord> GateStore::list_approvals(size_t limit, std::string_view status,
                                                      const std::vector<std::string>* repos) {
  std::vector<int64_t> ids;
  {
    Statement st = db_.prepare(
        "SELECT id FROM approvals WHERE (?1 = '' OR status = ?1) AND (?3 IS NULL OR repo IN "
        "(SELECT value FROM json_each(?3))) ORDER BY id DESC LIMIT ?2");
    st.bind(1, status).bind(2, static_cast<int64_t>(limit));
    if (repos) st.bind(3, encode_string_list(*repos));
    while (st.next()) ids.push_back(st.int64(0));
  }
  std::vector<ApprovalRecord> out;
  for (int64_t id : ids) {
    auto a = approval(id);
    if (a && *a) out.push_back(std::move(**a));
  }
  return out;
}

std::vector<ApprovalRecord> GateStore::approvals_of_run(int64_t run_id) {
  std::vector<int64_t> ids;
  {
    Statement st = db_.prepare("SELECT id FROM approvals WHERE run_id = ?1 ORDER BY id");
    st.bind(1, run_id);
    while (st.next()) ids.push_back(st.int64(0));
  }
  std::vector<ApprovalRecord> out;
  for (int64_t id : ids) {
    auto a = approval(id);
    if (a && *a) out.push_back(std::move(**a));
  }
  return out;
}

}  // namespace gantry::controller
