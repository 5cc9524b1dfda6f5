// The config Reader: first-error bookkeeping, rendering with a caret, and the
// typed field checks shared by the config sections.
#include "config_reader.hpp"

#include "gantry/common/edit_distance.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

namespace gantry::controller::config_detail {
namespace {

const char* kind_name(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Scalar:
      return "a scalar";
    default:
      return "empty";
  }
}

bool has_place(const YAML::Mark& m) {
  return m.line >= 0 && m.column >= 0;
}

std::string join(const std::vector<std::string_view>& items) {
  std::string out;
  for (auto item : items) {
    if (!out.empty()) out += ", ";
    out += item;
  }
  return out;
}

}  // namespace

std::string did_you_mean(std::string_view word, const std::vector<std::string_view>& candidates) {
  std::string_view best;
  size_t best_d = SIZE_MAX;
  for (auto c : candidates) {
    size_t d = edit_distance(word, c);
    if (d < best_d) {
      best_d = d;
      best = c;
    }
  }
  size_t limit = std::max<size_t>(1, word.size() / 3);
  if (best.empty() || best_d > limit) return {};
  return " (did you mean '" + std::string(best) + "'?)";
}

bool read_file_bounded(const std::string& path, size_t limit, std::string& out,
                       std::string& error) {
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f) {
    error = std::strerror(errno);
    return false;
  }
  out.clear();
  char buf[16384];
  for (;;) {
    size_t n = std::fread(buf, 1, sizeof buf, f.get());
    if (n == 0) break;
    if (out.size() + n > limit) {
      error = "larger than " + std::to_string(limit) + " bytes";
      return false;
    }
    out.append(buf, n);
  }
  if (std::ferror(f.get())) {
    error = std::strerror(errno ? errno : EIO);
    return false;
  }
  return true;
}

const Field* Fields::find(std::string_view name) const {
  for (const auto& f : items_) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

bool Reader::fail_at(const YAML::Mark& mark, const std::string& message) {
  if (error_) return false;
  std::string out = path_;
  if (!has_place(mark)) {
    error_ = ConfigError{out + ": error: " + message};
    return false;
  }
  out += ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1) +
         ": error: " + message;
  size_t start = 0;
  for (int l = 0; l < mark.line && start != std::string_view::npos; ++l) {
    start = source_.find('\n', start);
    if (start != std::string_view::npos) ++start;
  }
  if (start != std::string_view::npos && start < source_.size()) {
    std::string_view line = source_.substr(start, source_.find('\n', start) - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    std::string caret;
    for (size_t i = 0; i < static_cast<size_t>(mark.column) && i < line.size(); ++i) {
      caret += line[i] == '\t' ? '\t' : ' ';
    }
    out += "\n";
    out += line;
    out += "\n" + caret + "^";
  }
  error_ = ConfigError{std::move(out)};
  return false;
}

bool Reader::fail(const YAML::Node& at, const std::string& message) {
  return fail_at(at ? at.Mark() : YAML::Mark::null_mark(), message);
}

// An empty value is marked where the next token starts (often on the next
// line), so errors about it point at its key.
bool Reader::fail(const Field& at, const std::string& message) {
  if (!at.value || at.value.IsNull() || !has_place(at.value.Mark())) return fail(at.key, message);
  return fail(at.value, message);
}

bool Reader::map_fields(const YAML::Node& node, std::string_view what,
                        const std::vector<std::string_view>* allowed, Fields& out) {
  out = Fields();
  if (!node || node.IsNull()) return true;
  if (!node.IsMap()) {
    return fail(node, std::string(what) + " must be a map, not " + kind_name(node));
  }
  for (auto it = node.begin(); it != node.end(); ++it) {
    // Copies: the iterator's pair is a temporary proxy.
    const YAML::Node key = it->first;
    if (!key.IsScalar())
      return fail(key, "keys must be strings, not " + std::string(kind_name(key)));
    std::string name = key.Scalar();
    if (allowed && std::find(allowed->begin(), allowed->end(), name) == allowed->end()) {
      std::string hint = did_you_mean(name, *allowed);
      if (hint.empty()) hint = " (expected one of: " + join(*allowed) + ")";
      return fail(key, "unknown key '" + name + "'" + hint);
    }
    if (const Field* first = out.find(name)) {
      return fail(key, "duplicate key '" + name + "' (first at line " +
                           std::to_string(first->key.Mark().line + 1) + ")");
    }
    out.mutable_all().push_back(Field{std::move(name), key, it->second});
  }
  return true;
}

bool Reader::fields(const YAML::Node& node, std::string_view what,
                    std::initializer_list<std::string_view> allowed, Fields& out) {
  std::vector<std::string_view> keys(allowed);
  return map_fields(node, what, &keys, out);
}

bool Reader::entries(const YAML::Node& node, std::string_view what, Fields& out) {
  return map_fields(node, what, nullptr, out);
}

bool Reader::string(const Field& f, std::string& out, bool allow_empty) {
  if (!f.value || f.value.IsNull()) return fail(f, "'" + f.name + "' needs a value");
  if (!f.value.IsScalar()) {
    return fail(f, "'" + f.name + "' must be a string, not " + kind_name(f.value));
  }
  out = f.value.Scalar();
  if (out.empty() && !allow_empty) return fail(f, "'" + f.name + "' must not be empty");
  return true;
}

bool Reader::boolean(const Field& f, bool& out) {
  std::string text;
  if (!string(f, text)) return false;
  if (text == "true") {
    out = true;
  } else if (text == "false") {
    out = false;
  } else {
    return fail(f, "'" + f.name + "' must be true or false, not '" + text + "'");
  }
  return true;
}

bool Reader::string_list(const Field& f, std::vector<std::string>& out) {
  out.clear();
  if (!f.value || f.value.IsNull()) return true;
  if (!f.value.IsSequence()) {
    return fail(f, "'" + f.name + "' must be a list of strings, not " + kind_name(f.value));
  }
  for (const auto& item : f.value) {
    if (!item.IsScalar()) {
      return fail(item, "items of '" + f.name + "' must be strings, not " + kind_name(item));
    }
    if (item.Scalar().empty()) return fail(item, "items of '" + f.name + "' must not be empty");
    out.push_back(item.Scalar());
  }
  return true;
}

bool Reader::duration(const Field& f, int64_t& out) {
  std::string text;
  if (!string(f, text)) return false;
  if (!parse_duration_ms(text, out)) {
    return fail(
        f, "invalid duration '" + text + "' for '" + f.name + "' (use e.g. 500ms, 30s, 2m or 1h)");
  }
  return true;
}

}  // namespace gantry::controller::config_detail
