#include "lexer.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstring>

namespace gantry::pipelines {
namespace {

bool is_ident_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
         static_cast<unsigned char>(c) >= 0x80;
}
bool is_ident_char(char c) {
  return is_ident_start(c) || (c >= '0' && c <= '9');
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// Keywords after which an expression starts (so '/' begins a slashy string).
bool keyword_expects_operand(std::string_view word) {
  static constexpr std::string_view kWords[] = {"return", "case", "in",         "assert", "throw",
                                                "else",   "new",  "instanceof", "as"};
  for (std::string_view w : kWords) {
    if (word == w) return true;
  }
  return false;
}

// Operators, longest first so that the first match is the longest.
constexpr std::string_view kOperators[] = {
    ">>>=", "!instanceof", "..<", "<=>", "===", "!==", "**=", "<<=", ">>=", "==~", "?.", "*.", ".&",
    "!in",  "?:",          "->",  "==",  "!=",  "<=",  ">=",  "&&",  "||",  "++",  "--", "+=", "-=",
    "*=",   "/=",          "%=",  "&=",  "|=",  "^=",  "=~",  "<<",  "**",  "..",  "::", "{",  "}",
    "(",    ")",           "[",   "]",   ",",   ".",   ":",   "?",   "=",   "<",   ">",  "!",  "~",
    "+",    "-",           "*",   "/",   "%",   "&",   "|",   "^",   "@"};

// For each first byte, the operators that start with it (longest first), so a
// token is matched against a handful of candidates, not all of them.
struct OperatorTable {
  struct Entry {
    std::string_view op;
    int8_t level;
  };
  std::vector<Entry> by_first[128];
  OperatorTable() {
    for (std::string_view op : kOperators) {
      by_first[static_cast<unsigned char>(op[0])].push_back(
          Entry{op, static_cast<int8_t>(binary_operator_level(op))});
    }
  }
};

const OperatorTable& operator_table() {
  static const OperatorTable table;
  return table;
}

}  // namespace

Lexer::Lexer(std::string_view source, Pos origin)
    : src_(source), line_(origin.line), col_(origin.col) {
  // A UTF-8 byte order mark (editors on Windows add one) is not content.
  if (src_.substr(0, 3) == "\xEF\xBB\xBF") pos_ = 3;
}

void Lexer::advance_over(size_t n) {
  n = std::min(n, src_.size() - pos_);
  std::string_view run = src_.substr(pos_, n);
  size_t last_nl = run.rfind('\n');
  if (last_nl == std::string_view::npos) {
    col_ += static_cast<uint32_t>(n);
  } else {
    line_ += static_cast<uint32_t>(std::count(run.begin(), run.end(), '\n'));
    col_ = static_cast<uint32_t>(n - last_nl);
  }
  pos_ += n;
}

void Lexer::advance(size_t n) {
  for (size_t i = 0; i < n && pos_ < src_.size(); ++i) {
    if (src_[pos_] == '\n') {
      ++line_;
      col_ = 1;
    } else {
      ++col_;
    }
    ++pos_;
  }
}

// Skips blanks and comments. Returns true when a line break was crossed.
bool Lexer::skip_space_and_comments(Token& error) {
  bool newline = false;
  while (!at_end()) {
    char c = peek();
    if (c == '\n') {
      newline = true;
      advance();
    } else if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
      advance();
    } else if (c == '\\' && (peek(1) == '\n' || (peek(1) == '\r' && peek(2) == '\n'))) {
      advance(peek(1) == '\r' ? 3 : 2);  // line continuation
    } else if ((c == '/' && peek(1) == '/') ||
               (c == '#' && peek(1) == '!' && line_ == 1 && col_ == 1)) {  // comment or shebang
      while (!at_end() && peek() != '\n') advance();
    } else if (c == '/' && peek(1) == '*') {
      Pos start = here();
      advance(2);
      while (!at_end() && !(peek() == '*' && peek(1) == '/')) {
        if (peek() == '\n') newline = true;
        advance();
      }
      if (at_end()) {
        error = Token{Tok::Error, start, "unterminated /* comment", {}, false};
        return newline;
      }
      advance(2);
    } else {
      break;
    }
  }
  return newline;
}

Token Lexer::next() {
  Token error;
  bool newline = skip_space_and_comments(error);
  if (error.kind == Tok::Error) {
    pos_ = src_.size();
    return error;
  }
  if (newline) {
    after_operand_ = false;
    Token t;
    t.kind = Tok::Newline;
    t.pos = here();
    return t;
  }
  if (at_end()) return Token{Tok::End, here(), {}, {}, false};

  char c = peek();
  Token tok;
  if (is_digit(c) || (c == '.' && is_digit(peek(1)) && !after_operand_)) {
    tok = lex_number();
  } else if (is_ident_start(c)) {
    tok = lex_ident();
    after_operand_ = !keyword_expects_operand(tok.value);
    return tok;
  } else if (c == '\'' || c == '"') {
    tok = lex_quoted(c);
  } else if (c == '/' && !after_operand_ && peek(1) != '=') {
    tok = lex_slashy(false);
  } else if (c == '$' && peek(1) == '/') {
    tok = lex_slashy(true);
  } else if (c == '$' && peek(1) == '{') {
    tok = Token{Tok::Dollar, here(), "$", {}, false};
    advance();
    after_operand_ = false;
    return tok;
  } else if (c == '$') {
    tok = lex_ident();  // '$' is a valid identifier start in Groovy
    after_operand_ = true;
    return tok;
  } else if (c == ';') {
    tok = Token{Tok::Semi, here(), ";", {}, false};
    advance();
    after_operand_ = false;
    return tok;
  } else {
    tok = lex_operator();
    after_operand_ =
        tok.kind == Tok::Op && (tok.value == ")" || tok.value == "]" || tok.value == "}" ||
                                tok.value == "++" || tok.value == "--");
    return tok;
  }
  after_operand_ = tok.kind != Tok::Error;
  return tok;
}

Token Lexer::lex_number() {
  Token tok;
  tok.pos = here();
  size_t start = pos_;
  bool is_float = false;
  if (peek() == '0' && (peek(1) == 'x' || peek(1) == 'X')) {
    advance(2);
    while (std::isxdigit(static_cast<unsigned char>(peek())) || peek() == '_') advance();
  } else if (peek() == '0' && (peek(1) == 'b' || peek(1) == 'B') &&
             (peek(2) == '0' || peek(2) == '1')) {
    advance(2);
    while (peek() == '0' || peek() == '1' || peek() == '_') advance();
  } else {
    while (is_digit(peek()) || peek() == '_') advance();
    if (peek() == '.' && is_digit(peek(1))) {
      is_float = true;
      advance();
      while (is_digit(peek()) || peek() == '_') advance();
    }
    if ((peek() == 'e' || peek() == 'E') &&
        (is_digit(peek(1)) || ((peek(1) == '-' || peek(1) == '+') && is_digit(peek(2))))) {
      is_float = true;
      advance(2);
      while (is_digit(peek())) advance();
    }
  }
  std::string digits;
  for (size_t i = start; i < pos_; ++i) {
    if (src_[i] != '_') digits += src_[i];
  }
  char suffix = peek();
  bool bigdecimal_suffix = false;
  if (std::strchr("lLiIgGdDfF", suffix) != nullptr && suffix != '\0') {
    if (suffix == 'g' || suffix == 'G') bigdecimal_suffix = true;
    if (std::strchr("dDfF", suffix) != nullptr) is_float = true;
    tok.suffix = static_cast<char>(std::toupper(static_cast<unsigned char>(suffix)));
    advance();
  }
  if (is_ident_char(peek())) {
    // "123_ABC" or "1BAR": Groovy's lexer fails here too.
    tok.kind = Tok::Error;
    tok.value = "unexpected character '" + std::string(1, peek()) + "' in number";
    while (is_ident_char(peek())) advance();
    return tok;
  }
  tok.kind = is_float ? Tok::Float : Tok::Int;
  tok.value = digits;
  if (!is_float && !bigdecimal_suffix && digits.rfind("0x", 0) != 0 && digits.rfind("0X", 0) != 0 &&
      digits.rfind("0b", 0) != 0 && digits.rfind("0B", 0) != 0) {
    // Compare against the int64 maximum without converting.
    std::string_view d = digits;
    while (d.size() > 1 && d.front() == '0') d.remove_prefix(1);
    constexpr std::string_view kMax = "9223372036854775807";
    tok.big = d.size() > kMax.size() || (d.size() == kMax.size() && d > kMax);
  }
  return tok;
}

Token Lexer::lex_ident() {
  Token tok;
  tok.kind = Tok::Ident;
  tok.pos = here();
  size_t start = pos_;
  advance();
  while (is_ident_char(peek()) || peek() == '$') advance();
  tok.value.assign(src_.substr(start, pos_ - start));
  if (tok.value == "in" || tok.value == "instanceof" || tok.value == "as") {
    tok.binary_level = static_cast<int8_t>(binary_operator_level(tok.value));
  }
  return tok;
}

bool Lexer::decode_escape(std::string& out, Token& error) {
  // At a backslash.
  Pos at = here();
  char e = peek(1);
  switch (e) {
    case 'n':
      out += '\n';
      break;
    case 't':
      out += '\t';
      break;
    case 'r':
      out += '\r';
      break;
    case 'b':
      out += '\b';
      break;
    case 'f':
      out += '\f';
      break;
    case '0':
      out += '\0';
      break;
    case '\\':
      out += '\\';
      break;
    case '\'':
      out += '\'';
      break;
    case '"':
      out += '"';
      break;
    case '$':
      out += '$';
      break;
    case '/':
      out += '/';
      break;
    case '\n':
      break;  // line continuation inside a string
    case '\r':
      if (peek(2) != '\n') {
        error = Token{
            Tok::Error, at, "invalid escape sequence '\\' before a carriage return", {}, false};
        return false;
      }
      advance(3);  // line continuation with a CRLF line ending
      return true;
    case 'u': {
      unsigned value = 0;
      for (int i = 0; i < 4; ++i) {
        char h = peek(2 + i);
        if (!std::isxdigit(static_cast<unsigned char>(h))) {
          error = Token{Tok::Error, at, "invalid \\u escape in string", {}, false};
          return false;
        }
        value =
            value * 16 + static_cast<unsigned>(std::isdigit(h) ? h - '0' : (h | 0x20) - 'a' + 10);
      }
      // UTF-8 encode the BMP code point.
      if (value < 0x80) {
        out += static_cast<char>(value);
      } else if (value < 0x800) {
        out += static_cast<char>(0xC0 | (value >> 6));
        out += static_cast<char>(0x80 | (value & 0x3F));
      } else {
        out += static_cast<char>(0xE0 | (value >> 12));
        out += static_cast<char>(0x80 | ((value >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (value & 0x3F));
      }
      advance(6);
      return true;
    }
    default:
      error =
          Token{Tok::Error, at, std::string("invalid escape sequence '\\") + e + "'", {}, false};
      return false;
  }
  advance(2);
  return true;
}

// At '$' inside a GString. Appends an expression part (or a literal '$').
bool Lexer::lex_interpolation(Token& tok, std::string& literal, bool slashy) {
  if (peek(1) == '{') {
    if (!literal.empty() || tok.parts.empty()) {
      tok.parts.push_back(StrPart{false, std::move(literal), {}, false});
      literal.clear();
    }
    Pos start_pos = here();
    advance(2);
    Pos expr_pos = here();
    size_t start = pos_;
    int depth = 1;
    while (!at_end()) {
      char c = peek();
      if (c == '{') {
        ++depth;
      } else if (c == '}') {
        if (--depth == 0) break;
      } else if (c == '\'' || c == '"') {
        // Skip a nested string so braces inside it don't count.
        char q = c;
        advance();
        while (!at_end() && peek() != q && peek() != '\n') advance(peek() == '\\' ? 2 : 1);
      }
      advance();
    }
    if (at_end()) {
      tok = Token{Tok::Error, start_pos, "unterminated ${ in string", {}, false};
      return false;
    }
    tok.parts.push_back(
        StrPart{true, std::string(src_.substr(start, pos_ - start)), expr_pos, true});
    advance();  // '}'
    return true;
  }
  if (is_ident_start(peek(1)) && peek(1) != '$') {
    if (!literal.empty() || tok.parts.empty()) {
      tok.parts.push_back(StrPart{false, std::move(literal), {}, false});
      literal.clear();
    }
    advance();
    Pos expr_pos = here();
    size_t start = pos_;
    // $name or $name.prop.prop (Groovy's dotted form); stops before a '.' not followed by a name.
    while (true) {
      while (is_ident_char(peek())) advance();
      if (peek() == '.' && is_ident_start(peek(1))) {
        advance();
        continue;
      }
      break;
    }
    tok.parts.push_back(
        StrPart{true, std::string(src_.substr(start, pos_ - start)), expr_pos, false});
    return true;
  }
  (void)slashy;
  literal += '$';
  advance();
  return true;
}

Token Lexer::lex_quoted(char quote) {
  Token tok;
  tok.pos = here();
  bool triple = peek(1) == quote && peek(2) == quote;
  bool interpolate = quote == '"';
  advance(triple ? 3 : 1);
  std::string literal;
  while (true) {
    if (at_end()) {
      return Token{Tok::Error, tok.pos, "unterminated string literal", {}, false};
    }
    char c = peek();
    if (c == quote && (!triple || (peek(1) == quote && peek(2) == quote))) {
      advance(triple ? 3 : 1);
      break;
    }
    if (c == '\n' && !triple) {
      return Token{Tok::Error,
                   tok.pos,
                   "unterminated string literal (use ''' or \"\"\" for multi-line strings)",
                   {},
                   false};
    }
    if (c == '\\') {
      Token error;
      if (!decode_escape(literal, error)) return error;
      continue;
    }
    if (c == '$' && interpolate) {
      if (!lex_interpolation(tok, literal, false)) return tok;
      continue;
    }
    // Copy the run of ordinary characters in one go (the common case is a
    // whole string without escapes), keeping line and column right.
    size_t run = pos_;
    while (run < src_.size()) {
      char r = src_[run];
      if (r == quote || r == '\\' || (r == '$' && interpolate) || (r == '\n' && !triple)) break;
      ++run;
    }
    // A lone quote inside a triple-quoted string stops the run where it
    // starts: take it as text.
    if (run == pos_) ++run;
    literal.append(src_.data() + pos_, run - pos_);
    advance_over(run - pos_);
  }
  if (tok.parts.empty()) {
    tok.kind = Tok::String;
    tok.value = std::move(literal);
  } else {
    tok.kind = Tok::GString;
    if (!literal.empty()) tok.parts.push_back(StrPart{false, std::move(literal), {}, false});
  }
  return tok;
}

Token Lexer::lex_slashy(bool dollar) {
  Token tok;
  tok.pos = here();
  advance(dollar ? 2 : 1);
  std::string literal;
  while (true) {
    if (at_end()) return Token{Tok::Error, tok.pos, "unterminated slashy string", {}, false};
    char c = peek();
    if (!dollar && c == '/') {
      advance();
      break;
    }
    if (dollar && c == '/' && peek(1) == '$') {
      advance(2);
      break;
    }
    if (!dollar && c == '\\' && peek(1) == '/') {
      literal += '/';
      advance(2);
      continue;
    }
    if (dollar && c == '$' && (peek(1) == '$' || peek(1) == '/')) {
      literal += peek(1);
      advance(2);
      continue;
    }
    if (c == '$' && (peek(1) == '{' || is_ident_start(peek(1)))) {
      if (!lex_interpolation(tok, literal, true)) return tok;
      continue;
    }
    literal += c;
    advance();
  }
  if (tok.parts.empty()) {
    tok.kind = Tok::String;
    tok.value = std::move(literal);
  } else {
    tok.kind = Tok::GString;
    if (!literal.empty()) tok.parts.push_back(StrPart{false, std::move(literal), {}, false});
  }
  return tok;
}

Token Lexer::lex_template() {
  Token tok;
  tok.pos = here();
  std::string literal;
  while (!at_end()) {
    char c = peek();
    if (c == '\\' && peek(1) == '$') {
      literal += '$';
      advance(2);
      continue;
    }
    if (c == '$') {
      if (!lex_interpolation(tok, literal, false)) return tok;
      continue;
    }
    literal += c;
    advance();
  }
  if (tok.parts.empty()) {
    tok.kind = Tok::String;
    tok.value = std::move(literal);
  } else {
    tok.kind = Tok::GString;
    if (!literal.empty()) tok.parts.push_back(StrPart{false, std::move(literal), {}, false});
  }
  return tok;
}

Token Lexer::lex_operator() {
  Token tok;
  tok.pos = here();
  std::string_view rest = src_.substr(pos_);
  unsigned char first = static_cast<unsigned char>(rest[0]);
  const std::vector<OperatorTable::Entry> none;
  const auto& candidates = first < 128 ? operator_table().by_first[first] : none;
  for (const auto& [op, level] : candidates) {
    size_t n = op.size();
    if (rest.substr(0, n) == op) {
      // "!in" and "!instanceof" only as whole words.
      if (op[0] == '!' && n > 2 && is_ident_char(rest.size() > n ? rest[n] : '\0')) continue;
      tok.kind = Tok::Op;
      tok.value.assign(op);
      tok.binary_level = level;
      advance(n);
      return tok;
    }
  }
  unsigned char c = static_cast<unsigned char>(peek());
  tok.kind = Tok::Error;
  if (c >= 0x20 && c < 0x7f) {
    tok.value = std::string("unexpected character '") + static_cast<char>(c) + "'";
  } else {
    char buf[8];
    std::snprintf(buf, sizeof buf, "0x%02x", c);
    tok.value = std::string("unexpected byte ") + buf;
  }
  advance();
  return tok;
}

}  // namespace gantry::pipelines
