//! Tokens of the filter language (RFC 7644 §3.4.2.2), produced on demand for the parser.
//!
//! The lexer only knows delimiters, JSON strings and "words": any run of characters that is not
//! whitespace, a bracket, a parenthesis or a quote. Whether a word is an attribute path, an
//! operator, a keyword or an unquoted value depends on where it stands, so the parser decides.
//! Keeping words coarse is what lets old Entra filters with bare values (`externalId eq jyoung`,
//! `meta.created gt 2015-10-10T14:38:21-07:00`) through without a second grammar.
//!
//! Positions are 0-based character (not byte) offsets into the input, because they are shown
//! to clients who count characters.

/// What a token is.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    /// `(`
    LParen,
    /// `)`
    RParen,
    /// `[`
    LBracket,
    /// `]`
    RBracket,
    /// A run of non-delimiter characters: path, operator, keyword, number or bare value.
    Word(String),
    /// A JSON string literal, unescaped.
    Str(String),
    /// End of input.
    Eof,
}

/// A token and the character position it starts at.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    pub(crate) tok: Tok,
    pub(crate) pos: usize,
}

/// A syntax error: where, and what was expected. Never contains input text other than
/// attribute names, because the input may carry personal data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SyntaxError {
    pub(crate) pos: usize,
    pub(crate) reason: String,
}

impl SyntaxError {
    pub(crate) fn new(pos: usize, reason: impl Into<String>) -> Self {
        Self {
            pos,
            reason: reason.into(),
        }
    }
}

/// Streams tokens out of a filter string.
#[derive(Debug)]
pub(crate) struct Lexer {
    chars: Vec<char>,
    at: usize,
}

fn is_delimiter(c: char) -> bool {
    c.is_whitespace() || matches!(c, '(' | ')' | '[' | ']' | '"')
}

impl Lexer {
    pub(crate) fn new(input: &str) -> Self {
        Self {
            chars: input.chars().collect(),
            at: 0,
        }
    }

    /// The next token; [`Tok::Eof`] forever once the input is exhausted.
    pub(crate) fn next_token(&mut self) -> Result<Token, SyntaxError> {
        while self.chars.get(self.at).is_some_and(|c| c.is_whitespace()) {
            self.at += 1;
        }
        let pos = self.at;
        let Some(&c) = self.chars.get(pos) else {
            return Ok(Token { tok: Tok::Eof, pos });
        };
        let single = match c {
            '(' => Some(Tok::LParen),
            ')' => Some(Tok::RParen),
            '[' => Some(Tok::LBracket),
            ']' => Some(Tok::RBracket),
            _ => None,
        };
        if let Some(tok) = single {
            self.at += 1;
            return Ok(Token { tok, pos });
        }
        if c == '"' {
            let s = self.string()?;
            return Ok(Token {
                tok: Tok::Str(s),
                pos,
            });
        }
        while self.chars.get(self.at).is_some_and(|&c| !is_delimiter(c)) {
            self.at += 1;
        }
        Ok(Token {
            tok: Tok::Word(self.chars[pos..self.at].iter().collect()),
            pos,
        })
    }

    /// A JSON string (RFC 8259 §7) starting at the current `"`.
    fn string(&mut self) -> Result<String, SyntaxError> {
        let start = self.at;
        self.at += 1;
        let mut out = String::new();
        loop {
            let pos = self.at;
            let Some(&c) = self.chars.get(pos) else {
                return Err(SyntaxError::new(start, "unterminated string"));
            };
            self.at += 1;
            match c {
                '"' => return Ok(out),
                '\\' => match self.escape(pos)? {
                    // No stored string holds NUL (writes refuse it) and PostgreSQL text cannot
                    // compare with one: refused here, both databases give the same answer.
                    '\0' => {
                        return Err(SyntaxError::new(
                            pos,
                            "a filter value cannot contain NUL (\\u0000)",
                        ));
                    }
                    c => out.push(c),
                },
                c if (c as u32) < 0x20 => {
                    return Err(SyntaxError::new(
                        pos,
                        "control character in string must be escaped",
                    ));
                }
                c => out.push(c),
            }
        }
    }

    /// The character an escape sequence stands for; `pos` is the backslash.
    fn escape(&mut self, pos: usize) -> Result<char, SyntaxError> {
        let Some(&c) = self.chars.get(self.at) else {
            return Err(SyntaxError::new(pos, "unterminated escape sequence"));
        };
        self.at += 1;
        Ok(match c {
            '"' => '"',
            '\\' => '\\',
            '/' => '/',
            'b' => '\u{8}',
            'f' => '\u{c}',
            'n' => '\n',
            'r' => '\r',
            't' => '\t',
            'u' => {
                let hi = self.hex4(pos)?;
                if (0xDC00..0xE000).contains(&hi) {
                    return Err(SyntaxError::new(
                        pos,
                        "unpaired low surrogate in \\u escape",
                    ));
                }
                if (0xD800..0xDC00).contains(&hi) {
                    let low_pos = self.at;
                    let is_pair = self.chars.get(self.at) == Some(&'\\')
                        && self.chars.get(self.at + 1) == Some(&'u');
                    if !is_pair {
                        return Err(SyntaxError::new(
                            pos,
                            "unpaired high surrogate in \\u escape",
                        ));
                    }
                    self.at += 2;
                    let lo = self.hex4(low_pos)?;
                    if !(0xDC00..0xE000).contains(&lo) {
                        return Err(SyntaxError::new(
                            low_pos,
                            "expected a low surrogate \\u escape",
                        ));
                    }
                    let code = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
                    // In range by construction: 0x10000..=0x10FFFF, never a surrogate.
                    return char::from_u32(code)
                        .ok_or_else(|| SyntaxError::new(pos, "invalid \\u escape"));
                }
                char::from_u32(hi).ok_or_else(|| SyntaxError::new(pos, "invalid \\u escape"))?
            }
            _ => return Err(SyntaxError::new(pos, "invalid escape sequence")),
        })
    }

    fn hex4(&mut self, pos: usize) -> Result<u32, SyntaxError> {
        let mut v = 0;
        for _ in 0..4 {
            let d = self
                .chars
                .get(self.at)
                .and_then(|c| c.to_digit(16))
                .ok_or_else(|| SyntaxError::new(pos, "\\u escape needs four hex digits"))?;
            v = v * 16 + d;
            self.at += 1;
        }
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lex(s: &str) -> Result<Vec<Token>, SyntaxError> {
        let mut l = Lexer::new(s);
        let mut out = Vec::new();
        loop {
            let t = l.next_token()?;
            let eof = t.tok == Tok::Eof;
            out.push(t);
            if eof {
                return Ok(out);
            }
        }
    }

    fn toks(s: &str) -> Vec<Tok> {
        lex(s).unwrap().into_iter().map(|t| t.tok).collect()
    }

    fn word(s: &str) -> Tok {
        Tok::Word(s.to_owned())
    }

    #[test]
    fn words_run_until_whitespace_brackets_parentheses_or_quotes() {
        assert_eq!(
            toks(r#"emails[type eq "work"].value eq"x"and(not(a pr))"#),
            vec![
                word("emails"),
                Tok::LBracket,
                word("type"),
                word("eq"),
                Tok::Str("work".into()),
                Tok::RBracket,
                word(".value"),
                word("eq"),
                Tok::Str("x".into()),
                word("and"),
                Tok::LParen,
                word("not"),
                Tok::LParen,
                word("a"),
                word("pr"),
                Tok::RParen,
                Tok::RParen,
                Tok::Eof,
            ]
        );
    }

    #[test]
    fn positions_count_characters_not_bytes() {
        let t = lex("é eq \"ü\" x").unwrap();
        assert_eq!(
            t.iter().map(|t| t.pos).collect::<Vec<_>>(),
            vec![0, 2, 5, 9, 10]
        );
    }

    #[test]
    fn json_escapes_are_decoded_including_surrogate_pairs() {
        assert_eq!(
            toks(r#""a\"b\\c\/d\b\f\n\r\t\u00e9\ud83d\ude00""#)[0],
            Tok::Str("a\"b\\c/d\u{8}\u{c}\n\r\té😀".into())
        );
    }

    #[test]
    fn bad_strings_report_the_position_of_the_problem() {
        for (input, pos) in [
            (r#"a eq "abc"#, 5),
            (r#"a eq "ab\x""#, 8),
            (r#"a eq "\u12""#, 6),
            (r#"a eq "\ud83d""#, 6),
            (r#"a eq "\ude00""#, 6),
            (r#"a eq "\ud83d\u0041""#, 12),
            ("a eq \"\u{1}\"", 6),
            (r#"a eq "\"#, 6),
        ] {
            let e = lex(input).unwrap_err();
            assert_eq!(e.pos, pos, "{input}: {e:?}");
        }
    }

    #[test]
    fn eof_repeats_at_the_end_of_input() {
        let mut l = Lexer::new("  ");
        assert_eq!(
            l.next_token().unwrap(),
            Token {
                tok: Tok::Eof,
                pos: 2
            }
        );
        assert_eq!(
            l.next_token().unwrap(),
            Token {
                tok: Tok::Eof,
                pos: 2
            }
        );
    }
}
