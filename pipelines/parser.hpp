#pragma once
// Private: the recursive-descent parser behind groovy_parser.hpp. Statement
// productions live in parser_stmt.cpp, expression productions in
// parser_expr.cpp. One token of lookahead (`tok_`); longer lookahead saves and
// restores the whole cursor (lexer + current token), which is cheap.

#include <string>
#include <string_view>

#include "gantry/pipelines/ast.hpp"
#include "gantry/pipelines/diagnostics.hpp"
#include "gantry/pipelines/groovy_parser.hpp"
#include "lexer.hpp"

namespace gantry::pipelines {

class Parser {
 public:
  Parser(std::string_view source, Pos origin, Diagnostics& diags, int depth = 0);

  NodePtr parse_file();                    // statements until End
  NodePtr parse_single_expression();       // one expression, then End
  NodePtr parse_string_parts(Token& tok);  // String/GString token → node

 private:
  struct Cursor {
    Lexer lexer;
    Token tok;
    bool newline_before;
  };

  // ---- token helpers
  void next();
  // Hot: called many times per token, so compare length and first byte
  // before the rest (a plain string compare showed up as 30% of parse time).
  bool is_op(std::string_view op) const {
    return tok_.kind == Tok::Op && same_text(tok_.value, op);
  }
  static bool same_text(const std::string& a, std::string_view b) {
    return a.size() == b.size() && !b.empty() && a[0] == b[0] &&
           (b.size() == 1 || std::string_view(a).substr(1) == b.substr(1));
  }
  bool is_ident(std::string_view word) const {
    return tok_.kind == Tok::Ident && tok_.value == word;
  }
  bool accept_op(std::string_view op);
  bool expect_op(std::string_view op, std::string_view context);
  bool expect_close(std::string_view close, Pos open);
  bool continues_line() const { return !newline_before_ || paren_depth_ > 0; }
  static std::string describe(const Token& t);
  std::string unexpected_after_statement() const;
  bool at_statement_end() const;
  Cursor save() const { return Cursor{lexer_, tok_, newline_before_}; }
  void restore(const Cursor& c);
  void error_here(std::string message);
  void error_at(Pos pos, std::string message);
  void recover_statement();

  // ---- statements (parser_stmt.cpp)
  NodePtr parse_statements_until_close(Pos open_pos, std::string_view what);
  NodePtr parse_statement();
  NodePtr parse_block_or_statement();
  NodePtr parse_braced_block(std::string_view what);
  NodePtr parse_condition(std::string_view keyword);
  NodePtr parse_if();
  NodePtr parse_while();
  NodePtr parse_for();
  NodePtr parse_try();
  NodePtr parse_switch();
  NodePtr parse_import_or_package(NodeKind kind);
  NodePtr parse_annotation();
  NodePtr parse_class();
  NodePtr parse_member(const std::string& class_name);
  NodePtr try_parse_declaration();
  NodePtr parse_method_rest(Pos pos, std::string name, std::string type);
  bool parse_type(std::string& out);
  NodePtr parse_expression_statement();
  NodePtr parse_multiple_assignment();
  NodePtr parse_command_expression();

  // ---- expressions (parser_expr.cpp)
  NodePtr parse_expression();
  NodePtr continue_expression(NodePtr leftmost);
  NodePtr parse_assignment();
  NodePtr parse_ternary();
  NodePtr parse_binary(int level);
  NodePtr parse_unary();
  NodePtr parse_power();
  NodePtr parse_postfix(NodePtr base, bool allow_command);
  NodePtr parse_primary();
  NodePtr parse_list_or_map();
  NodePtr parse_closure();
  NodePtr parse_new();
  void parse_call_args(Node& call, std::string_view close);
  bool parse_command_args(Node& call);
  bool starts_command_arg() const;
  bool at_named_arg();
  NodePtr parse_arg_value();

  bool enter(Pos pos);
  void leave() { --depth_; }

  // Left-associative chains (`a || b || c ...`, `a.b.c ...`) are built in a
  // loop, but each link nests the tree one level deeper; counting links as
  // depth keeps every later recursive walk (and the destructor) bounded.
  class ChainDepth {
   public:
    explicit ChainDepth(Parser& p) : parser_(p) {}
    ~ChainDepth() {
      while (links_-- > 0) parser_.leave();
    }
    bool grow(Pos pos) {
      if (!parser_.enter(pos)) return false;
      ++links_;
      return true;
    }
    ChainDepth(const ChainDepth&) = delete;
    ChainDepth& operator=(const ChainDepth&) = delete;

   private:
    Parser& parser_;
    int links_ = 0;
  };

  std::string_view source_;
  Diagnostics& diags_;
  Lexer lexer_;
  Token tok_;
  bool newline_before_ = false;  // a line break separated tok_ from the previous token
  int paren_depth_ = 0;          // inside () or [] line breaks do not end a statement
  int depth_ = 0;
  bool aborted_ = false;          // nesting limit hit: the rest of the input is ignored
  NodePtr pending_;               // a primary already parsed, see continue_expression()
  bool negated_literal_ = false;  // the Int about to be read follows a unary minus
};

}  // namespace gantry::pipelines
