// Pipeline Utility Steps: their arguments and the workspace's files they
// read and write (the formats: the steps_utility_*.cpp codecs).
#include "steps_utility.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>

#include "script_engine.hpp"

namespace gantry::agent {

namespace groovy = pipelines::groovy;
namespace fs = std::filesystem;
using groovy::Type;
using groovy::Value;

namespace {

constexpr uintmax_t kMaxFile = uintmax_t{16} << 20;

constexpr std::string_view kReaders[] = {"readJSON", "readYaml", "readProperties", "readCSV"};
constexpr std::string_view kWriters[] = {"writeJSON", "writeYaml"};

// A call's `name: value` arguments (also given as one map: readJSON([file: 'x'])).
class Args {
 public:
  explicit Args(const groovy::StepCall& call) : call_(call) {}
  const Value* get(std::string_view key) const {
    for (const auto& [k, v] : call_.named) {
      if (k == key) return &v;
    }
    for (const auto& a : call_.args) {
      if (a.type() != Type::Map) continue;
      if (const Value* v = a.as_map().find(Value::string(std::string(key)))) return v;
    }
    return nullptr;
  }
  bool has(std::string_view key) const {
    const Value* v = get(key);
    return v != nullptr && !v->is_null();
  }
  std::string string(std::string_view key) const {
    const Value* v = get(key);
    return v == nullptr || v->is_null() ? std::string() : groovy::to_string(*v);
  }
  bool flag(std::string_view key, bool fallback) const {
    const Value* v = get(key);
    return v == nullptr || v->is_null() ? fallback : groovy::truthy(*v);
  }

 private:
  const groovy::StepCall& call_;
};

bool outside(const fs::path& p, const fs::path& root) {
  fs::path rel = p.lexically_relative(root);
  return rel.empty() || *rel.begin() == "..";
}

// `file` as a path under the workspace, or why not.
bool workspace_path(const std::string& workspace, const std::string& cwd, const std::string& file,
                    std::string& path, std::string& error) {
  if (file.empty()) {
    error = "the file name is empty";
    return false;
  }
  fs::path p(file);
  p = (p.is_absolute() ? p : fs::path(cwd) / p).lexically_normal();
  fs::path root = fs::path(workspace).lexically_normal();
  std::error_code ec;
  fs::path real = fs::weakly_canonical(p, ec);
  fs::path real_root = fs::weakly_canonical(root, ec);
  if (outside(p, root) || (!ec && outside(real, real_root))) {
    error = "'" + file + "' is outside the workspace: files must stay inside it";
    return false;
  }
  path = p.string();
  return true;
}

bool read_text(const std::string& path, const std::string& file, std::string& text,
               std::string& error) {
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    error = "file '" + file + "' does not exist (" + path + ")";
    return false;
  }
  uintmax_t size = fs::file_size(path, ec);
  if (ec) {
    error = "cannot read '" + file + "': " + ec.message();
    return false;
  }
  if (size > kMaxFile) {
    error = "'" + file + "' is over 16 MiB";
    return false;
  }
  std::ifstream in(path, std::ios::binary);
  text.assign(static_cast<size_t>(size), '\0');
  if (!in || !in.read(text.data(), static_cast<std::streamsize>(size))) {
    error = "cannot read '" + file + "'";
    return false;
  }
  return true;
}

bool write_text(const std::string& path, const std::string& file, const std::string& text,
                std::string& error) {
  if (text.size() > kMaxFile) {
    error = "the text for '" + file + "' is over 16 MiB";
    return false;
  }
  std::error_code ec;
  fs::create_directories(fs::path(path).parent_path(), ec);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out || !out.write(text.data(), static_cast<std::streamsize>(text.size())) || !out.flush()) {
    error = "cannot write '" + file + "' (" + path + ")";
    return false;
  }
  return true;
}

struct Context {
  const groovy::StepCall& call;
  const std::string& workspace;
  const std::string& cwd;
  std::string error;

  // The `file:` and `text:` arguments' text; `both`: both may be given (file first).
  bool input(std::string& text, bool both) {
    Args args(call);
    const bool has_file = args.has("file"), has_text = args.has("text");
    if (!has_file && !has_text) {
      error = "give file: or text:";
      return false;
    }
    if (has_file && has_text && !both) {
      error = "give file: or text:, not both";
      return false;
    }
    if (has_file) {
      std::string file = args.string("file"), path;
      if (!workspace_path(workspace, cwd, file, path, error) || !read_text(path, file, text, error))
        return false;
    }
    if (has_text) {
      if (!text.empty() && text.back() != '\n') text += '\n';
      text += args.string("text");
    }
    return true;
  }

  // Writes `text` to `file:` unless returnText: true, when it is the value.
  bool output(const std::string& text, bool overwrite, Value& out) {
    Args args(call);
    if (args.flag("returnText", false)) {
      if (args.has("file")) {
        error = "give file: or returnText: true, not both";
        return false;
      }
      out = Value::string(text);
      return true;
    }
    if (!args.has("file")) {
      error = "no file: given";
      return false;
    }
    std::string file = args.string("file"), path;
    if (!workspace_path(workspace, cwd, file, path, error)) return false;
    std::error_code ec;
    if (!overwrite && fs::exists(path, ec)) {
      error = "'" + file + "' already exists (overwrite: true replaces it)";
      return false;
    }
    out = Value();
    return write_text(path, file, text, error);
  }
};

bool read_json(Context& c, Value& out) {
  std::string text;
  if (!c.input(text, false)) return false;
  return utility::parse_json(text, out, c.error);
}

bool write_json(Context& c, Value& out) {
  Args args(c.call);
  const Value* json = args.get("json");
  if (json == nullptr) {
    c.error = "no json: given";
    return false;
  }
  int indent = 0;
  if (const Value* p = args.get("pretty"); p != nullptr && p->is_integral()) {
    indent = static_cast<int>(std::clamp<int64_t>(p->as_int(), 0, 16));
  }
  std::string text;
  if (!utility::write_json(*json, indent, text, c.error)) return false;
  return c.output(text, true, out);
}

bool read_yaml(Context& c, Value& out) {
  std::string text;
  if (!c.input(text, true)) return false;
  return utility::parse_yaml(text, out, c.error);
}

bool write_yaml(Context& c, Value& out) {
  Args args(c.call);
  std::vector<Value> docs;
  if (args.get("data") != nullptr && args.has("datas")) {
    c.error = "give data: or datas:, not both";
    return false;
  }
  if (args.has("datas")) {
    const Value& datas = *args.get("datas");
    if (datas.type() != Type::List) {
      c.error = "datas: must be a list (one document each)";
      return false;
    }
    docs = datas.as_list().items;
  } else if (const Value* data = args.get("data")) {
    docs.push_back(*data);
  } else {
    c.error = "no data: given";
    return false;
  }
  std::string text;
  if (!utility::write_yaml(docs, text, c.error)) return false;
  return c.output(text, args.flag("overwrite", false), out);
}

bool read_properties(Context& c, Value& out) {
  Args args(c.call);
  if (args.flag("interpolate", false)) {
    c.error = "interpolate: true is not supported by Gantry";
    return false;
  }
  auto map = std::make_shared<groovy::Map>();
  if (const Value* d = args.get("defaults"); d != nullptr && !d->is_null()) {
    if (d->type() != Type::Map) {
      c.error = "defaults: must be a map";
      return false;
    }
    for (const auto& [k, v] : d->as_map().entries()) map->put(k, v);
  }
  std::string text;
  if (!c.input(text, true)) return false;
  utility::parse_properties(text, *map);
  out = Value::of(std::move(map));
  return true;
}

bool read_csv(Context& c, Value& out) {
  if (Args(c.call).has("format")) {
    c.error = "format: is not supported by Gantry (RFC 4180 with commas only)";
    return false;
  }
  std::string text;
  if (!c.input(text, false)) return false;
  return utility::parse_csv(text, out, c.error);
}

}  // namespace

bool is_utility_step(std::string_view name) {
  for (auto n : kReaders) {
    if (n == name) return true;
  }
  for (auto n : kWriters) {
    if (n == name) return true;
  }
  return false;
}

bool utility_step_returns_value(std::string_view name) {
  for (auto n : kReaders) {
    if (n == name) return true;
  }
  return false;
}

StepStatus run_utility_step(const groovy::StepCall& call, const std::string& workspace,
                            const std::string& cwd, Value& out) {
  Context c{call, workspace, cwd, {}};
  const std::string& n = call.name;
  bool ok = n == "readJSON"         ? read_json(c, out)
            : n == "writeJSON"      ? write_json(c, out)
            : n == "readYaml"       ? read_yaml(c, out)
            : n == "writeYaml"      ? write_yaml(c, out)
            : n == "readProperties" ? read_properties(c, out)
            : n == "readCSV"        ? read_csv(c, out)
                                    : (c.error = "not a utility step", false);
  if (ok) return StepStatus{};
  return StepStatus::failure(n + ": " + c.error);
}

StepStatus StepRunner::utility(const pipelines::Step& step, const StepScope& scope) {
  if (utility_step_returns_value(step.name)) {
    return StepStatus::failure(
        step.name + " returns a value: call it in a script block (def v = " + step.name + "(...))");
  }
  return engine().run_utility_step(step, scope);
}

}  // namespace gantry::agent
