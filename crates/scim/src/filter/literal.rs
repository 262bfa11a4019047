//! Unquoted comparison values: `true`, `false`, `null`, JSON numbers, and the bare words old
//! Entra documentation shows (`externalId eq jyoung`), which are strings.

use super::CompValue;
use super::lexer::SyntaxError;

/// An unquoted value: `true`/`false`/`null` (any case), a JSON number, or else a string.
pub(super) fn bare_value(word: &str, pos: usize) -> Result<CompValue, SyntaxError> {
    if word.eq_ignore_ascii_case("true") {
        return Ok(CompValue::Bool(true));
    }
    if word.eq_ignore_ascii_case("false") {
        return Ok(CompValue::Bool(false));
    }
    if word.eq_ignore_ascii_case("null") {
        return Ok(CompValue::Null);
    }
    if is_json_number(word) {
        return json_number(word)
            .map(CompValue::Num)
            .ok_or_else(|| SyntaxError::new(pos, "number is out of range"));
    }
    Ok(CompValue::Str(word.to_owned()))
}

/// The number a JSON number literal denotes: an integer when it has no fraction or exponent
/// and fits 64 bits, else the nearest `f64` (Rust's parser rounds correctly, which is what
/// makes printing and re-parsing exact); `None` when it overflows `f64`.
fn json_number(word: &str) -> Option<serde_json::Number> {
    if !word.contains(['.', 'e', 'E']) {
        let int = match word.strip_prefix('-') {
            Some(_) => word.parse::<i64>().ok().map(serde_json::Number::from),
            None => word.parse::<u64>().ok().map(serde_json::Number::from),
        };
        if int.is_some() {
            return int;
        }
    }
    word.parse::<f64>()
        .ok()
        .and_then(serde_json::Number::from_f64)
}

/// RFC 8259 §6: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
fn is_json_number(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = usize::from(b.first() == Some(&b'-'));
    let digits = |i: &mut usize| {
        let start = *i;
        while b.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i - start
    };
    match b.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => {
            digits(&mut i);
        }
        _ => return false,
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}
