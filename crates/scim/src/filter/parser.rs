//! Recursive-descent parser for the filter grammar of RFC 7644 §3.4.2.2 (Figure 1) and for
//! PATCH target paths (RFC 7644 §3.5.2, the `PATH` rule of Figure 1).
//!
//! Grammar as implemented (keywords and operators case-insensitive):
//!
//! ```text
//! filter   = or
//! or       = and *("or" and)                       ; left-associative
//! and      = unary *("and" unary)                   ; left-associative, binds tighter than or
//! unary    = "not" "(" filter ")" / "(" filter ")" / attrExp
//! attrExp  = attrPath "pr"
//!          / attrPath compareOp compValue
//!          / attrPath "[" filter "]" [ "." subAttr ( "pr" / compareOp compValue ) ]
//! compValue = JSON string / JSON number / true / false / null / bare word
//! ```
//!
//! `attr[f].sub op v` desugars to `attr[f and sub op v]`, so every value-path form has one AST.
//! A bare word where a value is expected (`externalId eq jyoung`, old Entra documentation) is a
//! string unless it is `true`/`false`/`null` (any case) or a JSON number. Value filters do not
//! nest (`a[b[c pr]]` is rejected), as in the RFC grammar.
//!
//! [`FilterLimits::max_depth`] bounds two things, so that neither the parser nor any code that
//! walks the tree can overflow the stack on hostile input: the nesting of `(`, `not (` and `[`
//! (where the parser recurses), and the height of the tree, where every `and`, `or`, `not` and
//! value filter above a comparison counts one level. A chain `a or b or c` is as deep as
//! `a or (b or c)`: both have height 2. With the default 32, a chain of 33 comparisons is fine.

use super::lexer::{Lexer, SyntaxError, Tok, Token};
use super::literal::bare_value;
use super::{CompValue, CompareOp, Filter};
use crate::path::{AttrPath, is_attr_name};
use crate::{Result, ScimError};

/// Bounds applied while parsing, so that a hostile filter costs bounded time and stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FilterLimits {
    /// Maximum input length in characters.
    pub max_length: usize,
    /// Maximum nesting, counted two ways that must both stay within it: parentheses, `not (…)`
    /// and value filters `attr[…]` inside one another; and the tree height, where each `and`,
    /// `or`, `not` and value filter above a comparison is one level (so `a pr` is 0 deep and a
    /// chain of n comparisons n − 1). Tree walkers recurse this deep: keep it in the tens.
    pub max_depth: usize,
}

impl Default for FilterLimits {
    /// 4096 characters, 32 levels: far above anything an IdP sends (Entra sends `a eq "v"`
    /// and at most one `and`), far below what could hurt.
    fn default() -> Self {
        Self {
            max_length: 4096,
            max_depth: 32,
        }
    }
}

/// Parses a filter with the default [`FilterLimits`]. Errors are `400 invalidFilter` whose
/// detail gives the 0-based character position of the problem.
pub fn parse(input: &str) -> Result<Filter> {
    parse_with_limits(input, &FilterLimits::default())
}

/// Parses a filter with explicit limits.
pub fn parse_with_limits(input: &str, limits: &FilterLimits) -> Result<Filter> {
    if exceeds_length(input, limits.max_length) {
        return Err(ScimError::invalid_filter(format!(
            "filter is longer than {} characters",
            limits.max_length
        )));
    }
    let mut p = Parser::new(input, limits.max_depth);
    let parsed = (|| {
        if let Tok::Eof = p.peek()?.tok {
            return Err(SyntaxError::new(0, "filter is empty"));
        }
        let (f, _) = p.or(false)?;
        p.expect_end()?;
        Ok(f)
    })();
    parsed.map_err(filter_error)
}

impl Filter {
    /// Parses a filter with the default limits; see [`parse`].
    pub fn parse(input: &str) -> Result<Filter> {
        parse(input)
    }
}

pub(super) fn exceeds_length(input: &str, max: usize) -> bool {
    // Byte length bounds char count from above, so long inputs are rejected without counting.
    input.len() > max && (input.len() > max.saturating_mul(4) || input.chars().count() > max)
}

pub(super) fn filter_error(e: SyntaxError) -> ScimError {
    ScimError::invalid_filter(format!(
        "invalid filter: {} (at position {})",
        e.reason, e.pos
    ))
}

/// `.sub` after a closing `]`.
pub(super) fn sub_after_bracket(word: &str, pos: usize) -> Result<String, SyntaxError> {
    match word.strip_prefix('.') {
        Some(sub) if is_attr_name(sub) => Ok(sub.to_owned()),
        _ => Err(SyntaxError::new(
            pos,
            "expected '.' and a sub-attribute name after ']'",
        )),
    }
}

fn is_keyword(tok: &Tok, kw: &str) -> bool {
    matches!(tok, Tok::Word(w) if w.eq_ignore_ascii_case(kw))
}

/// A parsed subtree and its height: how many `and`/`or`/`not`/value-filter nodes stand above
/// its deepest comparison. Every tree walker (printing, resolving, evaluating, dropping, the
/// store's SQL translation) recurses that deep, so it is bounded like parenthesis nesting.
pub(super) type Node = (Filter, usize);

#[derive(Debug)]
pub(super) struct Parser {
    lexer: Lexer,
    peeked: Option<Token>,
    depth: usize,
    max_depth: usize,
}

impl Parser {
    pub(super) fn new(input: &str, max_depth: usize) -> Self {
        Self {
            lexer: Lexer::new(input),
            peeked: None,
            depth: 0,
            max_depth,
        }
    }

    fn peek(&mut self) -> Result<&Token, SyntaxError> {
        let token = match self.peeked.take() {
            Some(t) => t,
            None => self.lexer.next_token()?,
        };
        Ok(self.peeked.insert(token))
    }

    pub(super) fn next(&mut self) -> Result<Token, SyntaxError> {
        match self.peeked.take() {
            Some(t) => Ok(t),
            None => self.lexer.next_token(),
        }
    }

    fn expect_end(&mut self) -> Result<(), SyntaxError> {
        let t = self.next()?;
        match t.tok {
            Tok::Eof => Ok(()),
            Tok::RParen => Err(SyntaxError::new(t.pos, "unbalanced ')'")),
            Tok::RBracket => Err(SyntaxError::new(t.pos, "unbalanced ']'")),
            _ => Err(SyntaxError::new(
                t.pos,
                "expected 'and', 'or' or the end of the filter",
            )),
        }
    }

    /// Enters one nesting level opened at `pos`.
    fn enter(&mut self, pos: usize) -> Result<(), SyntaxError> {
        if self.depth >= self.max_depth {
            return Err(SyntaxError::new(
                pos,
                format!("filter nests deeper than {} levels", self.max_depth),
            ));
        }
        self.depth += 1;
        Ok(())
    }

    /// `height` if it is within the depth limit; `pos` is the operator that made it.
    fn check_height(&self, height: usize, pos: usize) -> Result<usize, SyntaxError> {
        if height > self.max_depth {
            return Err(SyntaxError::new(
                pos,
                format!("filter nests deeper than {} levels", self.max_depth),
            ));
        }
        Ok(height)
    }

    fn or(&mut self, in_value: bool) -> Result<Node, SyntaxError> {
        let (mut left, mut height) = self.and(in_value)?;
        while is_keyword(&self.peek()?.tok, "or") {
            let op = self.next()?;
            let (right, right_height) = self.and(in_value)?;
            height = self.check_height(1 + height.max(right_height), op.pos)?;
            left = Filter::Or(Box::new(left), Box::new(right));
        }
        Ok((left, height))
    }

    fn and(&mut self, in_value: bool) -> Result<Node, SyntaxError> {
        let (mut left, mut height) = self.unary(in_value)?;
        while is_keyword(&self.peek()?.tok, "and") {
            let op = self.next()?;
            let (right, right_height) = self.unary(in_value)?;
            height = self.check_height(1 + height.max(right_height), op.pos)?;
            left = Filter::And(Box::new(left), Box::new(right));
        }
        Ok((left, height))
    }

    fn unary(&mut self, in_value: bool) -> Result<Node, SyntaxError> {
        let t = self.next()?;
        match t.tok {
            Tok::LParen => self.parenthesised(t.pos, in_value),
            Tok::Word(w) if w.eq_ignore_ascii_case("not") && self.peek()?.tok == Tok::LParen => {
                let open = self.next()?;
                let (inner, height) = self.parenthesised(open.pos, in_value)?;
                Ok((
                    Filter::Not(Box::new(inner)),
                    self.check_height(1 + height, t.pos)?,
                ))
            }
            Tok::Word(w) => self.attr_exp(&w, t.pos, in_value),
            Tok::Eof => Err(SyntaxError::new(
                t.pos,
                "expected an expression, found the end of the filter",
            )),
            Tok::RParen => Err(SyntaxError::new(t.pos, "expected an expression, found ')'")),
            Tok::RBracket => Err(SyntaxError::new(t.pos, "expected an expression, found ']'")),
            Tok::LBracket => Err(SyntaxError::new(
                t.pos,
                "expected an attribute path before '['",
            )),
            Tok::Str(_) => Err(SyntaxError::new(
                t.pos,
                "expected an attribute path, found a string",
            )),
        }
    }

    /// The rest of `( filter )` after the `(` at `open`.
    fn parenthesised(&mut self, open: usize, in_value: bool) -> Result<Node, SyntaxError> {
        self.enter(open)?;
        let f = self.or(in_value)?;
        let close = self.next()?;
        if close.tok != Tok::RParen {
            return Err(SyntaxError::new(
                close.pos,
                format!("missing ')' for the '(' at position {open}"),
            ));
        }
        self.depth -= 1;
        Ok(f)
    }

    /// The rest of `[ filter ]` after the `[` at `open`.
    pub(super) fn bracketed(&mut self, open: usize) -> Result<Node, SyntaxError> {
        self.enter(open)?;
        let f = self.or(true)?;
        let close = self.next()?;
        if close.tok != Tok::RBracket {
            return Err(SyntaxError::new(
                close.pos,
                format!("missing ']' for the '[' at position {open}"),
            ));
        }
        self.depth -= 1;
        Ok(f)
    }

    fn attr_exp(&mut self, word: &str, pos: usize, in_value: bool) -> Result<Node, SyntaxError> {
        let path = AttrPath::parse(word)
            .map_err(|_| SyntaxError::new(pos, "expected an attribute path"))?;
        let t = self.next()?;
        match t.tok {
            Tok::LBracket if in_value => {
                Err(SyntaxError::new(t.pos, "value filters cannot be nested"))
            }
            Tok::LBracket if path.sub.is_some() => Err(SyntaxError::new(
                t.pos,
                "a value filter must follow a top-level attribute name",
            )),
            Tok::LBracket => {
                let (mut inner, mut height) = self.bracketed(t.pos)?;
                if let Tok::Word(w) = &self.peek()?.tok
                    && w.starts_with('.')
                {
                    let sub_tok = self.next()?;
                    let Tok::Word(w) = sub_tok.tok else {
                        unreachable!("peeked a word")
                    };
                    let sub = AttrPath::new(sub_after_bracket(&w, sub_tok.pos)?);
                    let op = self.next()?;
                    let last = self.comparison(sub, op)?;
                    height = self.check_height(1 + height, sub_tok.pos)?;
                    inner = Filter::And(Box::new(inner), Box::new(last));
                }
                let height = self.check_height(1 + height, t.pos)?;
                Ok((Filter::ValuePath(path, Box::new(inner)), height))
            }
            _ => Ok((self.comparison(path, t)?, 0)),
        }
    }

    /// `pr` or `op value` after `path`; `op` is the token after the path.
    fn comparison(&mut self, path: AttrPath, op: Token) -> Result<Filter, SyntaxError> {
        let Tok::Word(w) = &op.tok else {
            return Err(SyntaxError::new(
                op.pos,
                format!("expected an operator after '{path}'"),
            ));
        };
        if w.eq_ignore_ascii_case("pr") {
            return Ok(Filter::Present(path));
        }
        let Some(cmp) = CompareOp::parse(w) else {
            if path.urn.is_none() && path.sub.is_none() && path.name.eq_ignore_ascii_case("not") {
                return Err(SyntaxError::new(op.pos, "expected '(' after 'not'"));
            }
            return Err(SyntaxError::new(
                op.pos,
                format!(
                    "unknown operator after '{path}' (expected eq, ne, co, sw, ew, gt, ge, lt, le or pr)"
                ),
            ));
        };
        let v = self.next()?;
        let value = match v.tok {
            Tok::Str(s) => CompValue::Str(s),
            Tok::Word(w) => bare_value(&w, v.pos)?,
            _ => {
                return Err(SyntaxError::new(
                    v.pos,
                    format!(
                        "expected a comparison value after '{path} {}'",
                        cmp.as_str()
                    ),
                ));
            }
        };
        Ok(Filter::Compare(path, cmp, value))
    }
}

#[cfg(test)]
#[path = "parser_tests.rs"]
pub(crate) mod tests;
