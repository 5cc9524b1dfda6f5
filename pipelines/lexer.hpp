#pragma once
// Lexer for the Groovy subset of Jenkinsfiles: identifiers, numbers, all of
// Groovy's string forms (single, double with ${} and $name interpolation,
// triple-quoted, slashy, dollar-slashy), operators, comments and newlines.
//
// Tokens are produced on demand (no token vector), so memory stays flat for
// large files; the parser backtracks by copying the lexer (it is a cursor).
// Strings are decoded here: a double-quoted string becomes a list of parts,
// literal text and the source range of each ${...} expression, which the
// parser parses with a sub-lexer at the right position.
// Never throws on input; malformed input yields an Error token with a message.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "gantry/pipelines/ast.hpp"

namespace gantry::pipelines {

enum class Tok : uint8_t {
  End,
  Newline,  // one or more line breaks (comments between them included)
  Semi,     // ';'
  Ident,    // identifiers and keywords
  Int,      // text: digits, value: normalised
  Float,
  String,   // value: decoded, no interpolation
  GString,  // parts: literal text and ${} expressions
  Op,       // value: the operator or punctuation ("{", "==", "?.", ...)
  Dollar,   // '$' directly followed by '{' outside a string (a bare ${...})
  Error,    // value: the message
};

struct StrPart {
  bool is_expr = false;
  std::string text;     // literal text, or the raw source of the expression
  Pos pos;              // where the expression source starts
  bool braced = false;  // ${...} rather than $name
};

struct Token {
  Tok kind = Tok::End;
  Pos pos;
  std::string value;
  std::vector<StrPart> parts;
  bool big = false;          // integer literal that does not fit in int64
  char suffix = 0;           // a number's type suffix as written: L, G, D, F, I (upper case)
  int8_t binary_level = -1;  // precedence level for binary operators (parser_expr.cpp), else -1
};

// The precedence level of a binary operator (0 = lowest), or -1.
int binary_operator_level(std::string_view op);

class Lexer {
 public:
  explicit Lexer(std::string_view source, Pos origin = {1, 1});

  Token next();

  // Treats the whole input as the inside of a double-quoted string with no
  // escapes but `\$` (for YAML values, whose escapes YAML already decoded).
  Token lex_template();

  // The next non-blank byte before the end of the line ('\0' if none), and
  // the byte after it, without consuming anything.
  char next_char_on_line() const { return src_at(skip_blanks()); }
  bool rest_of_line_contains(std::string_view text) const {
    std::string_view rest = src_.substr(pos_);
    rest = rest.substr(0, rest.find('\n'));
    return rest.find(text) != std::string_view::npos;
  }
  char char_after_next_on_line() const { return src_at(skip_blanks() + 1); }
  // The bytes right after the current token, blanks included.
  char raw_next(size_t ahead = 0) const { return peek(ahead); }

 private:
  char peek(size_t ahead = 0) const {
    return pos_ + ahead < src_.size() ? src_[pos_ + ahead] : '\0';
  }
  bool at_end() const { return pos_ >= src_.size(); }
  char src_at(size_t i) const { return i < src_.size() ? src_[i] : '\0'; }
  size_t skip_blanks() const {
    size_t i = pos_;
    while (i < src_.size() && (src_[i] == ' ' || src_[i] == '\t' || src_[i] == '\r')) ++i;
    return i;
  }
  void advance(size_t n = 1);
  void advance_over(size_t n);  // n bytes at once, counting line breaks
  Pos here() const { return Pos{line_, col_}; }

  bool skip_space_and_comments(Token& error);
  Token lex_number();
  Token lex_ident();
  Token lex_quoted(char quote);
  Token lex_slashy(bool dollar);
  Token lex_operator();
  bool lex_interpolation(Token& tok, std::string& literal, bool slashy);
  bool decode_escape(std::string& out, Token& error);

  std::string_view src_;
  size_t pos_ = 0;
  uint32_t line_ = 1;
  uint32_t col_ = 1;
  bool after_operand_ = false;
};

}  // namespace gantry::pipelines
