//! Text rules shared by every comparison and every stored value, so that filters, PATCH value
//! selection, uniqueness and both databases agree.
//!
//! - [`fold`]: how case-insensitive strings compare (RFC 7643 `caseExact: false`): Unicode
//!   compatibility caseless matching (NFKC after full case folding). Plain lower-casing made
//!   `Straße`/`STRASSE`, NFC/NFD spellings and fullwidth letters distinct, so two accounts
//!   that look identical to a person could both exist.
//! - [`check_value`]: characters no stored string may hold (U+0000 cannot be stored by
//!   PostgreSQL at all; the other C0 controls are never meaningful in SCIM data), and the
//!   longest string accepted.
//! - [`check_identity`]: the stricter rules of the names identity providers match on and that
//!   people read — `userName` and group `displayName`: no control, zero-width or bidi
//!   characters, no leading or trailing white space, a bounded length that every database
//!   index can hold.

use crate::schema::ResourceKind;
use crate::{Result, ScimError};
use caseless::Caseless;
use serde_json::Value;
use unicode_normalization::UnicodeNormalization;

/// Longest string value accepted, in characters.
pub const MAX_STRING_CHARS: usize = 16_384;

/// Longest identity string (`userName`, group `displayName`, `externalId`), in characters:
/// the value and its folded copy are indexed, and must fit any database's index entry.
pub const MAX_IDENTITY_CHARS: usize = 512;

/// The folded form of a case-insensitive string: equal for two strings exactly when they are
/// compatibility-caseless equal (Unicode §3.13, D146).
pub fn fold(s: &str) -> String {
    if s.is_ascii() {
        return s.to_ascii_lowercase();
    }
    s.nfd()
        .default_case_fold()
        .nfkd()
        .default_case_fold()
        .nfkc()
        .collect()
}

/// Control characters no SCIM string may contain: C0 except tab, line feed and carriage
/// return (addresses carry line breaks), DEL, and C1.
fn forbidden_control(c: char) -> bool {
    matches!(c, '\u{0}'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{7f}'..='\u{9f}')
}

/// Characters that are invisible or reorder text: zero-width spaces and joiners, the byte
/// order mark, word joiner, soft hyphen, and the bidirectional controls.
fn invisible(c: char) -> bool {
    matches!(
        c,
        '\u{ad}'
            | '\u{61c}'
            | '\u{180e}'
            | '\u{200b}'..='\u{200f}'
            | '\u{202a}'..='\u{202e}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{2069}'
            | '\u{feff}'
    )
}

/// Checks a string value of attribute `name`.
pub fn check_value(name: &str, s: &str) -> Result<()> {
    if let Some(c) = s.chars().find(|c| forbidden_control(*c)) {
        return Err(ScimError::invalid_value(format!(
            "'{name}' contains the control character U+{:04X}",
            c as u32
        )));
    }
    if s.chars().count() > MAX_STRING_CHARS {
        return Err(ScimError::invalid_value(format!(
            "'{name}' is longer than {MAX_STRING_CHARS} characters"
        )));
    }
    Ok(())
}

/// Checks an identity string (`userName`, group `displayName`).
pub fn check_identity(name: &str, s: &str) -> Result<()> {
    check_value(name, s)?;
    if let Some(c) = s.chars().find(|c| c.is_control() || invisible(*c)) {
        return Err(ScimError::invalid_value(format!(
            "'{name}' contains the invisible or control character U+{:04X}",
            c as u32
        )));
    }
    if s.trim() != s {
        return Err(ScimError::invalid_value(format!(
            "'{name}' starts or ends with white space"
        )));
    }
    check_length(name, s)
}

/// Checks the length of a value that is indexed (`externalId`).
pub fn check_length(name: &str, s: &str) -> Result<()> {
    if s.chars().count() > MAX_IDENTITY_CHARS {
        return Err(ScimError::invalid_value(format!(
            "'{name}' is longer than {MAX_IDENTITY_CHARS} characters"
        )));
    }
    Ok(())
}

/// Checks every string of a canonical resource body before it is stored: [`check_value`] on
/// all of them, [`check_identity`] on the names people and identity providers match on,
/// [`check_length`] on `externalId`.
pub fn check_resource(kind: ResourceKind, body: &Value) -> Result<()> {
    check_strings("", body)?;
    let text = |key: &str| body.get(key).and_then(Value::as_str);
    let identity = match kind {
        ResourceKind::User => "userName",
        ResourceKind::Group => "displayName",
    };
    if let Some(s) = text(identity) {
        check_identity(identity, s)?;
    }
    if let Some(s) = text("externalId") {
        check_length("externalId", s)?;
    }
    Ok(())
}

fn check_strings(path: &str, v: &Value) -> Result<()> {
    match v {
        Value::String(s) => check_value(path, s),
        Value::Array(items) => items.iter().try_for_each(|i| check_strings(path, i)),
        Value::Object(map) => map.iter().try_for_each(|(k, v)| {
            if path.is_empty() {
                check_strings(k, v)
            } else {
                check_strings(&format!("{path}.{k}"), v)
            }
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn look_alike_spellings_fold_to_one_key() {
        let same = [
            ("Straße", "STRASSE"),
            ("Ελένη", "ΕΛΈΝΗ"),
            ("e\u{301}lodie@example.com", "\u{e9}lodie@EXAMPLE.com"),
            ("ｊｏｈｎ@example.com", "john@example.com"),
            ("ﬁnn", "FINN"),
        ];
        for (a, b) in same {
            assert_eq!(fold(a), fold(b), "{a} / {b}");
        }
        assert_ne!(fold("john"), fold("jon"));
        assert_eq!(fold("MiXeD"), "mixed");
        for s in ["Straße", "ｊｏｈｎ", "e\u{301}"] {
            assert_eq!(fold(&fold(s)), fold(s), "fold is idempotent on {s}");
        }
    }

    #[test]
    fn identity_strings_refuse_invisible_control_and_padded_forms() {
        for bad in [
            "a\u{0}b",
            "zero\u{200b}width",
            "bidi\u{202e}txt",
            "tab\there",
            "line\nbreak",
            " padded",
            "padded ",
            "bom\u{feff}",
        ] {
            assert_eq!(
                check_identity("userName", bad).unwrap_err().status(),
                400,
                "{bad:?}"
            );
        }
        check_identity("userName", "Élodie Müller@example.com").unwrap();
        assert!(check_identity("userName", &"a".repeat(MAX_IDENTITY_CHARS + 1)).is_err());
    }

    #[test]
    fn a_resource_is_checked_in_every_string_and_in_its_identity_name() {
        use serde_json::json;
        check_resource(
            ResourceKind::User,
            &json!({"userName": "a@b.c", "addresses": [{"formatted": "1 Main\nX"}]}),
        )
        .unwrap();
        let nul = check_resource(
            ResourceKind::User,
            &json!({"userName": "a", "name": {"givenName": "x\u{0}"}}),
        );
        assert!(nul.unwrap_err().detail().contains("name.givenName"));
        assert!(
            check_resource(
                ResourceKind::Group,
                &json!({"displayName": "Sales\u{200b}"})
            )
            .is_err()
        );
        assert!(
            check_resource(
                ResourceKind::User,
                &json!({"userName": "a", "externalId": "x".repeat(600)})
            )
            .is_err()
        );
    }

    #[test]
    fn ordinary_values_keep_line_breaks_but_not_nul_or_other_controls() {
        check_value("formatted", "1 Main St\r\nSpringfield").unwrap();
        assert!(check_value("title", "a\u{0}").is_err());
        assert!(check_value("title", "a\u{1b}[31m").is_err());
        assert!(check_value("title", &"x".repeat(MAX_STRING_CHARS + 1)).is_err());
    }
}
