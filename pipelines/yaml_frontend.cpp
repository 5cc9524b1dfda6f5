// The YAML front end: loading the document, positions, scalars and maps.
// Sections and stages are translated in yaml_sections.cpp, steps and call
// arguments in yaml_steps.cpp.
#include "gantry/pipelines/yaml_frontend.hpp"

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <optional>
#include <sstream>

#include "gantry/pipelines/groovy_parser.hpp"
#include "yaml_translator.hpp"

namespace gantry::pipelines {
namespace {

// Aliases let a small file name the same subtree many times; this caps the
// expanded size (scalars and containers) far above any real pipeline: a
// 300-stage file is about 5,000.
constexpr size_t kMaxNodes = 100000;

Pos mark_pos(const YAML::Mark& m) {
  if (m.line < 0 || m.column < 0) return Pos{1, 1};
  return Pos{static_cast<uint32_t>(m.line) + 1, static_cast<uint32_t>(m.column) + 1};
}

bool is_int_text(std::string_view s) {
  if (!s.empty() && s[0] == '-') s.remove_prefix(1);
  if (s.empty() || (s[0] == '0' && s.size() > 1)) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// -?digits(.digits)?([eE][-+]?digits)? with a fraction or an exponent.
bool is_float_text(std::string_view s) {
  size_t i = 0;
  auto digits = [&] {
    size_t start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    return i > start;
  };
  if (i < s.size() && s[i] == '-') ++i;
  if (!digits()) return false;
  bool fraction = false;
  bool exponent = false;
  if (i < s.size() && s[i] == '.') {
    ++i;
    if (!digits()) return false;
    fraction = true;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
    if (!digits()) return false;
    exponent = true;
  }
  return i == s.size() && (fraction || exponent);
}

bool exceeds_int64(std::string_view digits) {
  if (!digits.empty() && digits[0] == '-') digits.remove_prefix(1);
  constexpr std::string_view kMax = "9223372036854775807";
  return digits.size() > kMax.size() || (digits.size() == kMax.size() && digits > kMax);
}

// yaml-cpp's messages say what broke; add what usually causes it.
std::string explain(const YAML::Exception& e, std::string_view source) {
  std::string msg = "invalid YAML: " + e.msg;
  if (e.msg == "illegal map value") {
    msg += " (a plain value cannot contain ': '; quote it)";
  } else if (e.msg.rfind("end of map not found", 0) == 0 ||
             e.msg.rfind("end of sequence not found", 0) == 0) {
    msg += " (check the indentation of this line)";
  }
  if (e.mark.line >= 0) {
    size_t start = 0;
    for (int l = 0; l < e.mark.line && start != std::string_view::npos; ++l) {
      start = source.find('\n', start);
      if (start != std::string_view::npos) ++start;
    }
    if (start != std::string_view::npos) {
      std::string_view line = source.substr(start, source.find('\n', start) - start);
      size_t indent_end = line.find_first_not_of(" \t");
      if (line.substr(0, indent_end).find('\t') != std::string_view::npos) {
        msg += " (YAML indentation must use spaces, not tabs)";
      }
    }
  }
  return msg;
}

void shift_columns(Node& root, uint32_t shift) {
  std::vector<Node*> todo{&root};
  while (!todo.empty()) {
    Node* n = todo.back();
    todo.pop_back();
    n->pos.col += shift;
    for (Node* child : {n->lhs.get(), n->rhs.get(), n->third.get(), n->block.get()}) {
      if (child) todo.push_back(child);
    }
    for (auto& item : n->items) {
      if (item) todo.push_back(item.get());
    }
    for (auto& arg : n->named) {
      arg.pos.col += shift;
      if (arg.value) todo.push_back(arg.value.get());
    }
  }
}

}  // namespace

// Where a scalar's text starts in the file. Block scalars (`|`, `>`) lose
// their indentation in YAML; `shift` puts it back on parsed positions.
struct YamlTranslator::Span {
  char style = 0;  // 0 plain, '\'', '"', '|' or '>'
  bool found = false;
  Pos origin;
  uint32_t shift = 0;
};

YamlTranslator::YamlTranslator(std::string_view source, Diagnostics& diags)
    : source_(source), diags_(diags), budget_(kMaxNodes) {
  line_starts_.push_back(0);
  for (size_t i = 0; i < source.size(); ++i) {
    if (source[i] == '\n') line_starts_.push_back(i + 1);
  }
}

// ---- positions

size_t YamlTranslator::offset_of(int line, int col) const {
  if (line < 0 || col < 0 || static_cast<size_t>(line) >= line_starts_.size()) {
    return source_.size();
  }
  return std::min(source_.size(),
                  line_starts_[static_cast<size_t>(line)] + static_cast<size_t>(col));
}

Pos YamlTranslator::pos_at(size_t offset) const {
  auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(), offset);
  size_t line = static_cast<size_t>(it - line_starts_.begin());  // 1-based
  return Pos{static_cast<uint32_t>(line),
             static_cast<uint32_t>(offset - line_starts_[line - 1] + 1)};
}

Pos YamlTranslator::pos_of(const YAML::Node& node, Pos fallback) const {
  YAML::Mark m = node.Mark();
  if (m.line < 0 || m.column < 0) return fallback;
  if (node.IsNull()) {
    // An empty value is marked where the next token starts (often the next
    // line); only an explicit `~` / `null` has a place of its own.
    size_t off = offset_of(m.line, m.column);
    char c = off < source_.size() ? source_[off] : '\0';
    if (c != '~' && c != 'n' && c != 'N') return fallback;
  }
  return mark_pos(m);
}

YamlTranslator::Span YamlTranslator::span_of(const YAML::Node& node) const {
  Span span;
  YAML::Mark m = node.Mark();
  size_t off = offset_of(m.line, m.column);
  // The mark is on the node's properties when it has any: skip `&anchor` and `!tag`.
  while (off < source_.size() && (source_[off] == '&' || source_[off] == '!')) {
    while (off < source_.size() && !std::isspace(static_cast<unsigned char>(source_[off]))) ++off;
    while (off < source_.size() && std::isspace(static_cast<unsigned char>(source_[off]))) ++off;
  }
  if (off >= source_.size()) return span;
  span.found = true;
  char c = source_[off];
  if (c == '\'' || c == '"') {
    span.style = c;
    span.origin = pos_at(off + 1);
  } else if (c == '|' || c == '>') {
    span.style = c;
    size_t nl = source_.find('\n', off);
    if (nl == std::string_view::npos) {
      span.origin = pos_at(source_.size());
      return span;
    }
    span.origin = pos_at(nl + 1);
    // The content's indentation is that of its first non-blank line.
    for (size_t line = nl + 1; line < source_.size();) {
      size_t end = source_.find('\n', line);
      if (end == std::string_view::npos) end = source_.size();
      std::string_view text = source_.substr(line, end - line);
      size_t indent = text.find_first_not_of(' ');
      if (indent != std::string_view::npos && text[indent] != '\r') {
        span.shift = static_cast<uint32_t>(indent);
        break;
      }
      line = end + 1;
    }
  } else {
    span.origin = pos_at(off);
  }
  return span;
}

// ---- scalars

NodePtr YamlTranslator::parse_code(const YAML::Node& node, Pos fallback, Code mode) {
  const std::string& text = node.Scalar();
  Span span = span_of(node);
  Pos origin = span.found ? span.origin : fallback;
  auto parse = [&](Diagnostics& into) -> NodePtr {
    switch (mode) {
      case Code::Statements:
        return parse_groovy_at(text, origin, into);
      case Code::Expression:
        return parse_expression(text, origin, into);
      case Code::Template:
        return parse_interpolated(text, origin, into);
    }
    return nullptr;
  };
  if (span.shift == 0) return parse(diags_);
  Diagnostics local;
  NodePtr result = parse(local);
  if (result) shift_columns(*result, span.shift);
  for (const Diagnostic& d : local.all()) {
    Pos at{d.pos.line, d.pos.col + span.shift};
    if (d.severity == Severity::Error) {
      diags_.error(at, d.message);
    } else {
      diags_.warning(at, d.message);
    }
  }
  return result;
}

NodePtr YamlTranslator::scalar(const YAML::Node& node, Pos fallback) {
  Pos at = pos_of(node, fallback);
  if (!enter(at)) return make_node(NodeKind::Null, at, "null");
  leave();
  if (!node.IsScalar()) return make_node(NodeKind::Null, at, "null");
  const std::string& text = node.Scalar();
  const std::string& tag = node.Tag();
  if (tag == "!groovy") {
    NodePtr expr = parse_code(node, at, Code::Expression);
    return expr ? std::move(expr) : make_node(NodeKind::Null, at, "null");
  }
  if (tag == "?") {
    // YAML 1.2's core schema, except that yes/no/on/off stay strings.
    if (text == "true" || text == "false") return make_node(NodeKind::Bool, at, text);
    if (text == "null" || text == "Null" || text == "NULL" || text == "~") {
      return make_node(NodeKind::Null, at, "null");
    }
    if (is_int_text(text)) {
      auto n = make_node(NodeKind::Int, at, text);
      if (exceeds_int64(text)) {
        n->big = true;
        error(at,
              "integer " + text +
                  " is too big: the maximum is 9223372036854775807 (quote it to make a string)");
      }
      return n;
    }
    if (is_float_text(text)) return make_node(NodeKind::Float, at, text);
  }
  // Like Groovy: single quotes are literal, everything else interpolates.
  if (text.find('$') == std::string::npos || span_of(node).style == '\'') {
    return make_node(NodeKind::String, at, text);
  }
  NodePtr str = parse_code(node, at, Code::Template);
  return str ? std::move(str) : make_node(NodeKind::String, at, text);
}

NodePtr YamlTranslator::statements(const YAML::Node& node, Pos fallback) {
  Pos at = pos_of(node, fallback);
  auto body = closure(at);
  NodePtr block = parse_code(node, at, Code::Statements);
  if (block) body->items = std::move(block->items);
  return body;
}

bool YamlTranslator::is_identifier(std::string_view s) const {
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0]))) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$';
  });
}

std::string YamlTranslator::describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Scalar: {
      std::string s = node.Scalar();
      if (s.size() > 40) s = s.substr(0, 37) + "...";
      return "the value '" + s + "'";
    }
    default:
      return "nothing";
  }
}

// ---- maps

std::vector<YamlEntry> YamlTranslator::entries(const YAML::Node& map) {
  std::vector<YamlEntry> out;
  std::vector<std::string> explicit_keys;
  for (auto it = map.begin(); it != map.end(); ++it) {
    if (it->first.IsScalar()) explicit_keys.push_back(it->first.Scalar());
  }
  for (auto it = map.begin(); it != map.end(); ++it) {
    YAML::Node key = it->first;  // a copy: `it->` is a proxy that dies with the statement
    Pos key_pos = pos_of(key, pos_of(map, Pos{1, 1}));
    if (!key.IsScalar()) {
      error(key_pos, "a key must be a name, not " + describe(key));
      continue;
    }
    if (key.Scalar() == "<<" && key.Tag() == "?") {
      merge_entries(it->second, out, explicit_keys, 0);
      continue;
    }
    out.push_back(YamlEntry{key.Scalar(), key_pos, it->second});
  }
  return out;
}

// `<<: *defaults` (or a list of them): the merged map's entries join this map
// at the `<<`, except keys this map sets itself or an earlier merge did.
void YamlTranslator::merge_entries(const YAML::Node& value, std::vector<YamlEntry>& out,
                                   std::vector<std::string>& explicit_keys, int depth) {
  Pos at = pos_of(value, Pos{1, 1});
  if (value.IsSequence() && depth == 0) {
    for (auto it = value.begin(); it != value.end(); ++it) {
      merge_entries(*it, out, explicit_keys, 1);
    }
    return;
  }
  if (!value.IsMap()) {
    error(at, "`<<` merges a map (such as `<<: *defaults`), not " + describe(value));
    return;
  }
  if (!enter(at)) return;
  for (YamlEntry& e : entries(value)) {
    if (std::find(explicit_keys.begin(), explicit_keys.end(), e.key) != explicit_keys.end()) {
      continue;
    }
    explicit_keys.push_back(e.key);
    out.push_back(std::move(e));
  }
  leave();
}

bool YamlTranslator::enter(Pos pos) {
  if (depth_ < kMaxDepth && budget_ > 0) {
    ++depth_;
    --budget_;
    return true;
  }
  if (!too_deep_) {
    too_deep_ = true;
    error(pos, budget_ == 0
                   ? "the document is too large once its aliases are expanded (more than " +
                         std::to_string(kMaxNodes) + " nodes)"
                   : "nesting is too deep (more than " + std::to_string(kMaxDepth) + " levels)");
  }
  return false;
}

// ---- node builders

NodePtr YamlTranslator::call(std::string name, Pos pos, bool parens) {
  auto c = make_node(NodeKind::Call, pos, std::move(name));
  c->parens = parens;
  return c;
}

NodePtr YamlTranslator::statement(NodePtr expr) {
  auto s = make_node(NodeKind::ExprStmt, expr->pos);
  s->lhs = std::move(expr);
  return s;
}

NodePtr YamlTranslator::closure(Pos pos) {
  return make_node(NodeKind::Closure, pos);
}

// ---- entry point

namespace {

// Sees whether a YAML stream holds a document after the first, calling the
// parser a bounded number of times.
class DocumentProbe : public YAML::EventHandler {
 public:
  bool has_content = false;
  YAML::Mark mark;  // where the document's first node starts
  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark& m, YAML::anchor_t) override { content(m); }
  void OnScalar(const YAML::Mark& m, const std::string&, YAML::anchor_t,
                const std::string&) override {
    content(m);
  }
  void OnSequenceStart(const YAML::Mark& m, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {
    content(m);
  }
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark& m, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {
    content(m);
  }
  void OnMapEnd() override {}

 private:
  void content(const YAML::Mark& m) {
    if (!has_content) mark = m;
    has_content = true;
  }
};

std::optional<YAML::Mark> find_second_document(std::string_view source) {
  std::istringstream in{std::string(source)};
  YAML::Parser parser(in);
  DocumentProbe first;
  if (!parser.HandleNextDocument(first)) return std::nullopt;
  DocumentProbe next;
  if (!parser.HandleNextDocument(next) || !next.has_content) return std::nullopt;
  return next.mark;
}

}  // namespace

NodePtr parse_yaml_pipeline(std::string_view source, Diagnostics& diags) {
  auto block = make_node(NodeKind::Block, Pos{1, 1});
  YAML::Node doc;
  std::optional<YAML::Mark> second;
  try {
    // Not YAML::LoadAll: on some malformed input yaml-cpp 0.7 returns the same
    // empty document forever without consuming anything (found by the fuzzer;
    // tests/fixtures/pipelines/fuzz/timeout-yaml-loadall). Load the first
    // document, then look for a second one with a bounded probe.
    doc = YAML::Load(std::string(source));
    second = find_second_document(source);
  } catch (const YAML::DeepRecursion& e) {
    // yaml-cpp gives this one the message "bad file".
    diags.error(mark_pos(e.mark), "nesting is too deep for the YAML reader");
    return block;
  } catch (const YAML::Exception& e) {
    diags.error(mark_pos(e.mark), explain(e, source));
    return block;
  } catch (const std::exception& e) {
    diags.error(Pos{1, 1}, std::string("cannot read the YAML document: ") + e.what());
    return block;
  }
  if (!doc || doc.IsNull()) {
    diags.error(Pos{1, 1}, "the file is empty: a pipeline needs at least `agent:` and `stages:`");
    return block;
  }
  if (second) {
    diags.error(mark_pos(*second),
                "a second YAML document starts here; a pipeline file holds exactly one");
  }
  try {
    YamlTranslator translator(source, diags);
    NodePtr p = translator.pipeline(doc);
    if (p) block->items.push_back(std::move(p));
  } catch (const std::exception& e) {
    // yaml-cpp's accessors can throw on a node they consider invalid; never
    // let that escape as a crash of `gantry lint`.
    diags.error(Pos{1, 1}, std::string("cannot read the YAML document: ") + e.what());
  }
  return block;
}

}  // namespace gantry::pipelines
