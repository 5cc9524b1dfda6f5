#include "junit.hpp"

#include <fstream>
#include <vector>

namespace gantry::agent {
namespace {

constexpr size_t kMaxDepth = 256;

bool is_name_char(char c) {
  return c != ' ' && c != '\t' && c != '\r' && c != '\n' && c != '/' && c != '>' && c != '=';
}

class Scanner {
 public:
  explicit Scanner(std::string_view xml) : xml_(xml) {}

  bool run(protocol::TestCounts& counts, std::string& error) {
    while (pos_ < xml_.size()) {
      size_t lt = xml_.find('<', pos_);
      if (lt == std::string_view::npos) break;
      pos_ = lt;
      if (!markup()) {
        error = "line " + std::to_string(line()) + ": " + error_;
        return false;
      }
    }
    if (!stack_.empty()) {
      error = "line " + std::to_string(line()) + ": <" + stack_.back() + "> is never closed";
      return false;
    }
    if (root_.empty()) {
      error = "no XML elements: not a JUnit report";
      return false;
    }
    if (root_ != "testsuites" && root_ != "testsuite") {
      error = "not a JUnit report: the root element is <" + root_ +
              ">, expected <testsuites> or <testsuite>";
      return false;
    }
    counts.total += counts_.total;
    counts.failed += counts_.failed;
    counts.skipped += counts_.skipped;
    return true;
  }

 private:
  size_t line() const {
    size_t n = 1;
    for (size_t i = 0; i < pos_ && i < xml_.size(); ++i) n += xml_[i] == '\n';
    return n;
  }

  bool fail(std::string message) {
    error_ = std::move(message);
    return false;
  }

  // Skips past `close`, which must follow; false at end of input.
  bool skip_to(std::string_view close, std::string_view what) {
    size_t end = xml_.find(close, pos_);
    if (end == std::string_view::npos) return fail("unterminated " + std::string(what));
    pos_ = end + close.size();
    return true;
  }

  bool markup() {
    std::string_view rest = xml_.substr(pos_);
    if (rest.starts_with("<!--")) return skip_to("-->", "comment");
    if (rest.starts_with("<![CDATA[")) return skip_to("]]>", "CDATA section");
    if (rest.starts_with("<?")) return skip_to("?>", "processing instruction");
    if (rest.starts_with("<!")) return doctype();
    if (rest.starts_with("</")) return close_tag();
    return open_tag();
  }

  // <!DOCTYPE ...> may hold an internal subset in [...].
  bool doctype() {
    int depth = 0;
    for (size_t i = pos_ + 2; i < xml_.size(); ++i) {
      if (xml_[i] == '[') ++depth;
      if (xml_[i] == ']') --depth;
      if (xml_[i] == '>' && depth <= 0) {
        pos_ = i + 1;
        return true;
      }
    }
    return fail("unterminated <!DOCTYPE>");
  }

  std::string name_at(size_t& i) const {
    size_t start = i;
    while (i < xml_.size() && is_name_char(xml_[i])) ++i;
    return std::string(xml_.substr(start, i - start));
  }

  bool open_tag() {
    size_t i = pos_ + 1;
    std::string name = name_at(i);
    if (name.empty()) return fail("'<' not followed by an element name");
    // Attributes: skip to '>' outside quotes.
    char quote = 0;
    for (; i < xml_.size(); ++i) {
      char c = xml_[i];
      if (quote) {
        if (c == quote) quote = 0;
      } else if (c == '"' || c == '\'') {
        quote = c;
      } else if (c == '>') {
        break;
      } else if (c == '<') {
        return fail("'<' inside the tag <" + name + ">");
      }
    }
    if (i >= xml_.size()) return fail("unterminated tag <" + name + ">");
    bool self_closing = xml_[i - 1] == '/';
    pos_ = i + 1;
    if (stack_.empty()) {
      if (!root_.empty()) return fail("a second root element <" + name + ">");
      root_ = name;
    }
    element(name);
    if (!self_closing) {
      if (stack_.size() >= kMaxDepth) return fail("elements nested too deeply");
      stack_.push_back(std::move(name));
    } else if (name == "testcase") {
      end_case();
    }
    return true;
  }

  bool close_tag() {
    size_t i = pos_ + 2;
    std::string name = name_at(i);
    while (i < xml_.size() && xml_[i] != '>') ++i;
    if (i >= xml_.size()) return fail("unterminated closing tag </" + name + ">");
    if (stack_.empty()) return fail("</" + name + "> closes nothing");
    if (stack_.back() != name) {
      return fail("<" + stack_.back() + "> closed by </" + name + ">");
    }
    stack_.pop_back();
    pos_ = i + 1;
    if (name == "testcase") end_case();
    return true;
  }

  void element(const std::string& name) {
    if (name == "testcase") {
      in_case_ = true;
      case_failed_ = case_skipped_ = false;
      case_depth_ = stack_.size();
    } else if (in_case_ && stack_.size() == case_depth_ + 1) {
      if (name == "failure" || name == "error") case_failed_ = true;
      if (name == "skipped") case_skipped_ = true;
    }
  }

  void end_case() {
    if (!in_case_) return;
    in_case_ = false;
    ++counts_.total;
    if (case_failed_) {
      ++counts_.failed;
    } else if (case_skipped_) {
      ++counts_.skipped;
    }
  }

  std::string_view xml_;
  size_t pos_ = 0;
  std::vector<std::string> stack_;
  std::string root_;
  std::string error_;
  protocol::TestCounts counts_;
  bool in_case_ = false;
  bool case_failed_ = false;
  bool case_skipped_ = false;
  size_t case_depth_ = 0;
};

}  // namespace

bool parse_junit(std::string_view xml, protocol::TestCounts& counts, std::string& error) {
  return Scanner(xml).run(counts, error);
}

bool parse_junit_file(const std::string& path, protocol::TestCounts& counts, std::string& error) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) {
    error = "cannot open the file";
    return false;
  }
  auto size = static_cast<uint64_t>(in.tellg());
  if (size > kMaxJunitBytes) {
    error = "file is larger than " + std::to_string(kMaxJunitBytes >> 20) + " MiB";
    return false;
  }
  std::string xml(static_cast<size_t>(size), '\0');
  in.seekg(0);
  if (!in.read(xml.data(), static_cast<std::streamsize>(size))) {
    error = "cannot read the file";
    return false;
  }
  return parse_junit(xml, counts, error);
}

}  // namespace gantry::agent
