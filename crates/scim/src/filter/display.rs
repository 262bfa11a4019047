//! Printing filters back to RFC 7644 syntax, such that `parse(&f.to_string()) == f` for every
//! AST the parser can produce.
//!
//! Parentheses are added only where precedence (`not` > `and` > `or`) or associativity
//! requires them: both operators are parsed left-associatively, so a right operand of the same
//! operator keeps its parentheses (`And(a, And(b, c))` prints `a and (b and c)`). `not` always
//! prints `not (…)`, the only form RFC 7644 defines. Strings are re-escaped as JSON strings and
//! every value is printed in its canonical JSON form, never as a bare word.

use super::{CompValue, Filter};
use std::fmt;

/// Binding strength: higher binds tighter.
fn precedence(f: &Filter) -> u8 {
    match f {
        Filter::Or(..) => 1,
        Filter::And(..) => 2,
        _ => 3,
    }
}

fn operand(f: &mut fmt::Formatter<'_>, parent: u8, child: &Filter, right: bool) -> fmt::Result {
    let p = precedence(child);
    if p < parent || (right && p == parent) {
        write!(f, "({child})")
    } else {
        write!(f, "{child}")
    }
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Filter::Compare(path, op, value) => write!(f, "{path} {} {value}", op.as_str()),
            Filter::Present(path) => write!(f, "{path} pr"),
            Filter::And(a, b) | Filter::Or(a, b) => {
                let p = precedence(self);
                operand(f, p, a, false)?;
                f.write_str(if p == 2 { " and " } else { " or " })?;
                operand(f, p, b, true)
            }
            Filter::Not(inner) => write!(f, "not ({inner})"),
            Filter::ValuePath(path, inner) => write!(f, "{path}[{inner}]"),
        }
    }
}

impl fmt::Display for CompValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CompValue::Str(s) => f.write_str(&serde_json::to_string(s).map_err(|_| fmt::Error)?),
            CompValue::Num(n) => write!(f, "{n}"),
            CompValue::Bool(b) => write!(f, "{b}"),
            CompValue::Null => f.write_str("null"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{CompareOp, parse};
    use super::*;
    use crate::path::AttrPath;

    fn present(name: &str) -> Box<Filter> {
        Box::new(Filter::Present(AttrPath::new(name)))
    }

    #[test]
    fn right_nested_operands_of_the_same_operator_keep_their_parentheses() {
        let f = Filter::And(
            present("a"),
            Box::new(Filter::And(present("b"), present("c"))),
        );
        assert_eq!(f.to_string(), "a pr and (b pr and c pr)");
        let f = Filter::And(
            Box::new(Filter::And(present("a"), present("b"))),
            present("c"),
        );
        assert_eq!(f.to_string(), "a pr and b pr and c pr");
    }

    #[test]
    fn or_inside_and_is_parenthesised_and_and_inside_or_is_not() {
        let f = Filter::And(
            Box::new(Filter::Or(present("a"), present("b"))),
            present("c"),
        );
        assert_eq!(f.to_string(), "(a pr or b pr) and c pr");
        let f = Filter::Or(
            present("a"),
            Box::new(Filter::And(present("b"), present("c"))),
        );
        assert_eq!(f.to_string(), "a pr or b pr and c pr");
    }

    #[test]
    fn not_and_value_paths_print_in_rfc_form() {
        let f = Filter::Not(Box::new(Filter::ValuePath(
            AttrPath::new("emails"),
            Box::new(Filter::Compare(
                AttrPath::new("type"),
                CompareOp::Eq,
                CompValue::Str("work".into()),
            )),
        )));
        assert_eq!(f.to_string(), r#"not (emails[type eq "work"])"#);
    }

    #[test]
    fn values_print_as_json() {
        let cases = [
            (
                CompValue::Str("a\"b\\c\n\u{1}é".into()),
                r#""a\"b\\c\n\u0001é""#,
            ),
            (CompValue::Num(serde_json::Number::from(-12)), "-12"),
            (
                CompValue::Num(serde_json::Number::from_f64(1.5).unwrap()),
                "1.5",
            ),
            (CompValue::Bool(false), "false"),
            (CompValue::Null, "null"),
        ];
        for (value, printed) in cases {
            assert_eq!(value.to_string(), printed);
            let f = Filter::Compare(AttrPath::new("x"), CompareOp::Eq, value);
            assert_eq!(parse(&f.to_string()).unwrap(), f);
        }
    }

    #[test]
    fn bare_string_values_are_printed_quoted() {
        let f = parse("externalId eq jyoung").unwrap();
        assert_eq!(f.to_string(), r#"externalId eq "jyoung""#);
    }
}
