// Token plumbing, error recovery and the public entry points of the parser.
#include "parser.hpp"

#include "gantry/pipelines/groovy_parser.hpp"

namespace gantry::pipelines {

Parser::Parser(std::string_view source, Pos origin, Diagnostics& diags, int depth)
    : source_(source), diags_(diags), lexer_(source, origin), depth_(depth) {
  next();
}

void Parser::next() {
  newline_before_ = false;
  if (aborted_) {
    tok_ = Token{Tok::End, tok_.pos, {}, {}, false};
    return;
  }
  while (true) {
    tok_ = lexer_.next();
    if (tok_.kind != Tok::Newline) break;
    newline_before_ = true;
  }
}

void Parser::restore(const Cursor& c) {
  lexer_ = c.lexer;
  tok_ = c.tok;
  newline_before_ = c.newline_before;
}

bool Parser::accept_op(std::string_view op) {
  if (!is_op(op)) return false;
  next();
  return true;
}

std::string Parser::describe(const Token& t) {
  switch (t.kind) {
    case Tok::End:
      return "end of file";
    case Tok::Newline:
      return "line break";
    case Tok::Semi:
      return "';'";
    case Tok::Ident:
      return "'" + t.value + "'";
    case Tok::Int:
    case Tok::Float:
      return "number " + t.value;
    case Tok::String:
    case Tok::GString:
      return "string";
    case Tok::Op:
      return "'" + t.value + "'";
    case Tok::Dollar:
      return "'${'";
    case Tok::Error:
      return t.value;
  }
  return "token";
}

bool Parser::expect_op(std::string_view op, std::string_view context) {
  if (accept_op(op)) return true;
  if (tok_.kind == Tok::Error) {
    error_here(tok_.value);
  } else {
    error_here("expected '" + std::string(op) + "' " + std::string(context) + ", found " +
               describe(tok_));
  }
  return false;
}

std::string Parser::unexpected_after_statement() const {
  if (tok_.kind == Tok::Error) return tok_.value;
  return "unexpected " + describe(tok_) + " after statement";
}

bool Parser::expect_close(std::string_view close, Pos open) {
  if (accept_op(close)) return true;
  std::string opener = close == ")" ? "(" : close == "]" ? "[" : "{";
  std::string where = std::to_string(open.line) + ":" + std::to_string(open.col);
  if (tok_.kind == Tok::Error) {
    error_here(tok_.value);
  } else {
    error_here("expected '" + std::string(close) + "' to close '" + opener + "' opened at " +
               where + ", found " + describe(tok_));
  }
  return false;
}

void Parser::error_here(std::string message) {
  error_at(tok_.pos, std::move(message));
}

void Parser::error_at(Pos pos, std::string message) {
  diags_.error(pos, std::move(message));
}

bool Parser::enter(Pos pos) {
  if (++depth_ <= kMaxDepth) return true;
  --depth_;
  if (!aborted_) {
    error_at(pos, "nesting is too deep (more than " + std::to_string(kMaxDepth) + " levels)");
  }
  aborted_ = true;
  tok_ = Token{Tok::End, pos, {}, {}, false};
  return false;
}

bool Parser::at_statement_end() const {
  return tok_.kind == Tok::End || tok_.kind == Tok::Semi ||
         (newline_before_ && paren_depth_ == 0) || is_op("}");
}

// Skips the rest of a broken statement: up to the next line break or ';' at
// the same nesting, or just before the '}' that closes the enclosing block.
void Parser::recover_statement() {
  int depth = 0;
  bool first = true;
  while (tok_.kind != Tok::End) {
    if (!first && depth == 0 && (newline_before_ || tok_.kind == Tok::Semi)) return;
    if (tok_.kind == Tok::Op) {
      const std::string& v = tok_.value;
      if (v == "{" || v == "(" || v == "[") {
        ++depth;
      } else if (v == "}" || v == ")" || v == "]") {
        if (depth == 0) {
          if (v == "}") return;
          // A stray ')' or ']' at statement level: consume it so we progress.
        } else {
          --depth;
        }
      }
    }
    first = false;
    next();
  }
}

NodePtr Parser::parse_file() {
  auto block = make_node(NodeKind::Block, tok_.pos);
  while (tok_.kind != Tok::End) {
    if (tok_.kind == Tok::Semi) {
      next();
      continue;
    }
    if (is_op("}")) {
      error_here("unexpected '}' with no block to close");
      next();
      continue;
    }
    NodePtr stmt = parse_statement();
    bool ok = stmt != nullptr;
    if (ok) block->items.push_back(std::move(stmt));
    if (!ok || !at_statement_end()) {
      if (ok) error_here(unexpected_after_statement());
      recover_statement();
    }
  }
  return block;
}

NodePtr Parser::parse_statements_until_close(Pos open, std::string_view what) {
  auto block = make_node(NodeKind::Block, open);
  while (!is_op("}")) {
    if (tok_.kind == Tok::End) {
      if (!aborted_) {
        error_here("expected '}' to close the " + std::string(what) + " opened at " +
                   std::to_string(open.line) + ":" + std::to_string(open.col) +
                   ", found end of file");
      }
      return block;
    }
    if (tok_.kind == Tok::Semi) {
      next();
      continue;
    }
    NodePtr stmt = parse_statement();
    bool ok = stmt != nullptr;
    if (ok) block->items.push_back(std::move(stmt));
    if (!ok || !at_statement_end()) {
      if (ok) error_here(unexpected_after_statement());
      recover_statement();
    }
  }
  next();  // '}'
  return block;
}

NodePtr Parser::parse_single_expression() {
  NodePtr e = parse_expression();
  if (e && tok_.kind != Tok::End) {
    error_here("unexpected " + describe(tok_) + " after expression");
    return nullptr;
  }
  return e;
}

NodePtr parse_groovy(std::string_view source, Diagnostics& diags) {
  return Parser(source, Pos{1, 1}, diags).parse_file();
}

NodePtr parse_groovy_at(std::string_view source, Pos origin, Diagnostics& diags) {
  return Parser(source, origin, diags).parse_file();
}

NodePtr parse_expression(std::string_view source, Pos origin, Diagnostics& diags) {
  return Parser(source, origin, diags).parse_single_expression();
}

NodePtr parse_interpolated(std::string_view text, Pos origin, Diagnostics& diags) {
  Lexer lexer(text, origin);
  Token tok = lexer.lex_template();
  if (tok.kind == Tok::Error) {
    diags.error(tok.pos, tok.value);
    return nullptr;
  }
  Parser parser("", origin, diags);
  return parser.parse_string_parts(tok);
}

}  // namespace gantry::pipelines
