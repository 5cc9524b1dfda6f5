#include "junit.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <map>
#include <vector>

#include <nlohmann/json.hpp>

namespace gantry::agent {
namespace {

constexpr size_t kMaxDepth = 256;

bool is_name_char(char c) {
  return c != ' ' && c != '\t' && c != '\r' && c != '\n' && c != '/' && c != '>' && c != '=';
}

// Appends UTF-8 for code point `cp` (nothing for an invalid one).
void append_utf8(std::string& out, unsigned long cp) {
  if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return;
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

class Scanner {
 public:
  Scanner(std::string_view xml, std::vector<TestCase>* cases) : xml_(xml), cases_(cases) {}

  bool run(protocol::TestCounts& counts, std::string& error) {
    while (pos_ < xml_.size()) {
      size_t lt = xml_.find('<', pos_);
      if (lt == std::string_view::npos) break;
      if (capturing_)
        append_xml_decoded(case_.details, xml_.substr(pos_, lt - pos_), kMaxCaseDetails);
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
    if (cases_) {
      for (TestCase& c : found_) cases_->push_back(std::move(c));
    }
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
    if (rest.starts_with("<![CDATA[")) {
      size_t from = pos_ + 9;
      if (!skip_to("]]>", "CDATA section")) return false;
      if (capturing_ && case_.details.size() < kMaxCaseDetails) {
        case_.details +=
            xml_.substr(from, std::min(pos_ - 3 - from, kMaxCaseDetails - case_.details.size()));
      }
      return true;
    }
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

  // The attributes between `from` and `to` (the tag's '>'), values decoded;
  // only for the elements whose attributes a case needs.
  std::map<std::string, std::string> attributes(size_t from, size_t to) const {
    std::map<std::string, std::string> out;
    size_t i = from;
    while (i < to) {
      while (i < to && !is_name_char(xml_[i])) ++i;
      size_t start = i;
      while (i < to && is_name_char(xml_[i])) ++i;
      std::string key(xml_.substr(start, i - start));
      while (i < to && (xml_[i] == ' ' || xml_[i] == '\t' || xml_[i] == '\n' || xml_[i] == '\r'))
        ++i;
      if (i >= to || xml_[i] != '=') continue;
      ++i;
      while (i < to && (xml_[i] == ' ' || xml_[i] == '\t' || xml_[i] == '\n' || xml_[i] == '\r'))
        ++i;
      if (i >= to || (xml_[i] != '"' && xml_[i] != '\'')) continue;
      char q = xml_[i++];
      size_t end = xml_.find(q, i);
      if (end == std::string_view::npos || end > to) break;
      std::string value;
      append_xml_decoded(value, xml_.substr(i, end - i), kMaxCaseMessage);
      if (!key.empty()) out[key] = std::move(value);
      i = end + 1;
    }
    return out;
  }

  bool open_tag() {
    size_t i = pos_ + 1;
    std::string name = name_at(i);
    if (name.empty()) return fail("'<' not followed by an element name");
    const size_t attrs_from = i;
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
    const size_t attrs_to = self_closing ? i - 1 : i;
    pos_ = i + 1;
    if (stack_.empty()) {
      if (!root_.empty()) return fail("a second root element <" + name + ">");
      root_ = name;
    }
    element(name, attrs_from, attrs_to, self_closing);
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
    if (capturing_ && stack_.size() < capture_depth_) capturing_ = false;
    if (name == "testsuite" && !suites_.empty()) suites_.pop_back();
    if (name == "testcase") end_case();
    return true;
  }

  void element(const std::string& name, size_t attrs_from, size_t attrs_to, bool self_closing) {
    if (name == "testsuite" && !self_closing && cases_) {
      suites_.push_back(attributes(attrs_from, attrs_to)["name"]);
    } else if (name == "testsuite" && !self_closing) {
      suites_.emplace_back();
    }
    if (name == "testcase") {
      in_case_ = true;
      case_failed_ = case_skipped_ = false;
      case_depth_ = stack_.size();
      if (cases_) {
        auto a = attributes(attrs_from, attrs_to);
        case_ = TestCase{};
        case_.suite = suites_.empty() ? std::string() : suites_.back();
        case_.class_name = a["classname"];
        case_.name = a["name"];
        case_.seconds = std::strtod(a["time"].c_str(), nullptr);
        if (!(case_.seconds >= 0 && case_.seconds < 1e9)) case_.seconds = 0;
      }
    } else if (in_case_ && stack_.size() == case_depth_ + 1) {
      const bool failure = name == "failure" || name == "error";
      const bool first = !case_failed_ && (failure || !case_skipped_);
      if (failure) case_failed_ = true;
      if (name == "skipped") case_skipped_ = true;
      // The first failure's (or the skip's) message and text.
      if (cases_ && first && (failure || name == "skipped")) {
        auto a = attributes(attrs_from, attrs_to);
        case_.message = a["message"];
        if (case_.message.empty() && !a["type"].empty()) case_.message = a["type"];
        case_.details.clear();
        if (!self_closing) {
          capturing_ = true;
          capture_depth_ = stack_.size() + 1;
        }
      }
    }
  }

  void end_case() {
    if (!in_case_) return;
    in_case_ = false;
    capturing_ = false;
    ++counts_.total;
    if (case_failed_) {
      ++counts_.failed;
    } else if (case_skipped_) {
      ++counts_.skipped;
    }
    if (cases_) {
      case_.status = case_failed_ ? "failed" : case_skipped_ ? "skipped" : "passed";
      found_.push_back(std::move(case_));
      case_ = TestCase{};
    }
  }

  std::string_view xml_;
  std::vector<TestCase>* cases_;
  std::vector<TestCase> found_;  // appended to cases_ only when the whole report parsed
  std::vector<std::string> suites_;
  TestCase case_;
  bool capturing_ = false;  // inside the case's first <failure>, <error> or <skipped>
  size_t capture_depth_ = 0;
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

// Appends `text` with XML's five entities and character references decoded
// (an unknown entity is kept as written), stopping at `limit` bytes of `out`.
void append_xml_decoded(std::string& out, std::string_view text, size_t limit) {
  static const std::map<std::string_view, char> kNamed = {
      {"lt", '<'}, {"gt", '>'}, {"amp", '&'}, {"quot", '"'}, {"apos", '\''}};
  for (size_t i = 0; i < text.size() && out.size() < limit; ++i) {
    size_t semi = text[i] == '&' ? text.find(';', i) : std::string_view::npos;
    if (semi == std::string_view::npos || semi - i > 10) {
      out += text[i];
      continue;
    }
    std::string_view ent = text.substr(i + 1, semi - i - 1);
    if (auto it = kNamed.find(ent); it != kNamed.end()) {
      out += it->second;
    } else if (ent.size() > 1 && ent[0] == '#') {
      std::string digits(ent.substr(ent[1] == 'x' ? 2 : 1));
      char* end = nullptr;
      unsigned long cp = std::strtoul(digits.c_str(), &end, ent[1] == 'x' ? 16 : 10);
      if (digits.empty() || *end != '\0') {
        out += text.substr(i, semi - i + 1);
      } else {
        append_utf8(out, cp);
      }
    } else {
      out += text.substr(i, semi - i + 1);
    }
    i = semi;
  }
  if (out.size() > limit) out.resize(limit);
}

bool parse_junit(std::string_view xml, protocol::TestCounts& counts, std::string& error,
                 std::vector<TestCase>* cases) {
  return Scanner(xml, cases).run(counts, error);
}

bool parse_junit_file(const std::string& path, protocol::TestCounts& counts, std::string& error,
                      std::vector<TestCase>* cases) {
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
  return parse_junit(xml, counts, error, cases);
}

std::string tests_report_json(std::vector<TestCase> cases, size_t max_cases) {
  auto rank = [](const TestCase& c) {
    return c.status == "failed" ? 0 : c.status == "skipped" ? 1 : 2;
  };
  std::stable_sort(cases.begin(), cases.end(),
                   [&](const TestCase& a, const TestCase& b) { return rank(a) < rank(b); });
  nlohmann::json list = nlohmann::json::array();
  size_t budget = kMaxReportDetails;
  for (size_t i = 0; i < cases.size() && i < max_cases; ++i) {
    const TestCase& c = cases[i];
    nlohmann::json j = {{"suite", c.suite},
                        {"class", c.class_name},
                        {"name", c.name},
                        {"status", c.status},
                        {"seconds", c.seconds}};
    if (!c.message.empty()) j["message"] = c.message;
    std::string details = c.details;
    while (!details.empty() && std::isspace(static_cast<unsigned char>(details.back())))
      details.pop_back();
    size_t lead = 0;
    while (lead < details.size() && (details[lead] == '\n' || details[lead] == '\r')) ++lead;
    // All the cases' texts together stay within a bound: past it, the message only.
    if (lead < details.size() && details.size() - lead <= budget) {
      j["details"] = details.substr(lead);
      budget -= details.size() - lead;
    }
    list.push_back(std::move(j));
  }
  nlohmann::json report = {{"cases", std::move(list)},
                           {"omitted", cases.size() > max_cases ? cases.size() - max_cases : 0}};
  return report.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace gantry::agent
