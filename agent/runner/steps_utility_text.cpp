// readProperties' and readCSV's formats: java.util.Properties and RFC 4180.
#include <cctype>

#include "steps_utility.hpp"

namespace gantry::agent {

namespace groovy = pipelines::groovy;
using groovy::Value;

namespace utility {

namespace {

bool blank(char c) {
  return c == ' ' || c == '\t' || c == '\f';
}

std::string unescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c != '\\' || i + 1 == s.size()) {
      out += c;
      continue;
    }
    c = s[++i];
    switch (c) {
      case 't':
        out += '\t';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 'f':
        out += '\f';
        break;
      case 'u': {
        unsigned cp = 0;
        size_t j = 0;
        for (; j < 4 && i + 1 + j < s.size() &&
               std::isxdigit(static_cast<unsigned char>(s[i + 1 + j]));
             ++j) {
          char h = static_cast<char>(std::tolower(static_cast<unsigned char>(s[i + 1 + j])));
          cp = cp * 16 + static_cast<unsigned>(h <= '9' ? h - '0' : h - 'a' + 10);
        }
        i += j;
        // UTF-8 (a lone surrogate half becomes U+FFFD).
        if (cp >= 0xD800 && cp <= 0xDFFF) cp = 0xFFFD;
        if (cp < 0x80) {
          out += static_cast<char>(cp);
        } else if (cp < 0x800) {
          out += static_cast<char>(0xC0 | (cp >> 6));
          out += static_cast<char>(0x80 | (cp & 0x3F));
        } else {
          out += static_cast<char>(0xE0 | (cp >> 12));
          out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
          out += static_cast<char>(0x80 | (cp & 0x3F));
        }
        break;
      }
      default:
        out += c;
    }
  }
  return out;
}

}  // namespace

void parse_properties(std::string_view text, groovy::Map& out) {
  // Natural lines, without their terminators.
  std::vector<std::string_view> lines;
  for (size_t start = 0; start < text.size();) {
    size_t end = text.find_first_of("\r\n", start);
    if (end == std::string_view::npos) end = text.size();
    lines.push_back(text.substr(start, end - start));
    if (end < text.size() && text[end] == '\r' && end + 1 < text.size() && text[end + 1] == '\n')
      ++end;
    start = end + 1;
  }
  for (size_t i = 0; i < lines.size(); ++i) {
    std::string_view first = lines[i];
    size_t b = 0;
    while (b < first.size() && blank(first[b])) ++b;
    if (b == first.size() || first[b] == '#' || first[b] == '!') continue;
    // The logical line: a line ending in an odd number of `\` goes on.
    std::string line(first.substr(b));
    for (;;) {
      size_t slashes = 0;
      while (slashes < line.size() && line[line.size() - 1 - slashes] == '\\') ++slashes;
      if (slashes % 2 == 0 || i + 1 >= lines.size()) {
        if (slashes % 2 == 1) line.pop_back();
        break;
      }
      line.pop_back();
      std::string_view next = lines[++i];
      size_t nb = 0;
      while (nb < next.size() && blank(next[nb])) ++nb;
      line += next.substr(nb);
    }
    size_t k = 0;
    while (k < line.size() && line[k] != '=' && line[k] != ':' && !blank(line[k])) {
      k += line[k] == '\\' ? 2 : 1;
    }
    k = std::min(k, line.size());
    std::string key = unescape(std::string_view(line).substr(0, k));
    size_t v = k;
    while (v < line.size() && blank(line[v])) ++v;
    if (v < line.size() && (line[v] == '=' || line[v] == ':')) ++v;
    while (v < line.size() && blank(line[v])) ++v;
    out.put(Value::string(std::move(key)),
            Value::string(unescape(std::string_view(line).substr(v))));
  }
}

bool parse_csv(std::string_view text, Value& out, std::string& error) {
  constexpr size_t kMaxFields = 1'000'000;
  out = Value::list();
  auto& records = out.as_list().items;
  std::vector<Value> record;
  std::string field;
  bool quoted = false, was_quoted = false, any = false;
  size_t fields = 0;
  auto end_field = [&] {
    record.push_back(Value::string(std::move(field)));
    field.clear();
    was_quoted = false;
    ++fields;
  };
  auto end_record = [&] {
    // commons-csv's DEFAULT skips empty lines.
    bool empty = record.size() == 1 && record[0].as_string().empty() && !any;
    if (!empty) records.push_back(Value::list(std::move(record)));
    record.clear();
    any = false;
  };
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        field += c;
      }
      continue;
    }
    if (c == '"' && field.empty() && !was_quoted) {
      quoted = was_quoted = any = true;
    } else if (c == ',') {
      end_field();
      any = true;
    } else if (c == '\n' || c == '\r') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      end_field();
      end_record();
    } else {
      field += c;
      any = true;
    }
    if (fields > kMaxFields) {
      error = "more than a million fields";
      return false;
    }
  }
  if (quoted) {
    error = "a quoted field is not closed";
    return false;
  }
  if (any || !field.empty()) {
    end_field();
    end_record();
  }
  return true;
}

}  // namespace utility
}  // namespace gantry::agent
