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

/// Most values one multi-valued attribute may hold (`emails`, `phoneNumbers`, `roles`, …;
/// group members are stored apart: callers check a group's body without them). Bounds the work a PATCH's filtered
/// operations can cause: at most 1,000 operations × this many values.
pub const MAX_VALUES: usize = 250;

/// Largest stored resource body, in bytes of JSON (group members not included): identity
/// providers send a few KB; this bounds what one list page can hold.
pub const MAX_RESOURCE_BYTES: usize = 64 * 1024;

/// Longest folded identity string, in bytes: what the unique index holds. NFKC can expand a
/// character many times (U+FDFA becomes 18), so the character limit alone does not bound it.
pub const MAX_FOLDED_BYTES: usize = 2_000;

/// The folded form of a case-insensitive string: equal for two strings exactly when they are
/// compatibility-caseless equal (Unicode §3.13, D146) after dropping default-ignorable code
/// points, as Unicode's NFKC_Casefold does — so `jo<ZWJ>hn` is `john`, while the joiner an
/// emoji sequence or a Persian word needs may still be stored.
pub fn fold(s: &str) -> String {
    if s.is_ascii() {
        return s.to_ascii_lowercase();
    }
    s.chars()
        .filter(|c| !default_ignorable(*c))
        .nfd()
        .default_case_fold()
        .nfkd()
        .default_case_fold()
        .nfkc()
        .collect()
}

/// Unicode's Default_Ignorable_Code_Point (DerivedCoreProperties), the characters
/// NFKC_Casefold removes.
fn default_ignorable(c: char) -> bool {
    matches!(
        c,
        '\u{ad}'
            | '\u{34f}'
            | '\u{61c}'
            | '\u{115f}'..='\u{1160}'
            | '\u{17b4}'..='\u{17b5}'
            | '\u{180b}'..='\u{180f}'
            | '\u{200b}'..='\u{200f}'
            | '\u{202a}'..='\u{202e}'
            | '\u{2060}'..='\u{206f}'
            | '\u{3164}'
            | '\u{fe00}'..='\u{fe0f}'
            | '\u{feff}'
            | '\u{ffa0}'
            | '\u{fff0}'..='\u{fff8}'
            | '\u{1bca0}'..='\u{1bca3}'
            | '\u{1d173}'..='\u{1d17a}'
            | '\u{e0000}'..='\u{e0fff}'
    )
}

/// Control characters no SCIM string may contain: C0 except tab, line feed and carriage
/// return (addresses carry line breaks), and DEL. (C1 characters turn up in legacy HR data as
/// mis-decoded punctuation; they are refused in identity strings only.)
fn forbidden_control(c: char) -> bool {
    matches!(c, '\u{0}'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{7f}')
}

/// Characters that hide or reorder what a person reads: zero-width space, word joiner and the
/// invisible operators, the byte order mark, the Mongolian vowel separator, the soft hyphen,
/// and the bidirectional embeddings, overrides and isolates. Not refused: the zero-width
/// joiner and non-joiner (emoji sequences, Persian spelling) and the LTR/RTL marks
/// (Hebrew/Arabic names) — `fold` ignores them, so they cannot make a look-alike.
fn invisible(c: char) -> bool {
    matches!(
        c,
        '\u{ad}'
            | '\u{61c}'
            | '\u{180e}'
            | '\u{200b}'
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
    check_length(name, s)?;
    if fold(s).len() > MAX_FOLDED_BYTES {
        return Err(ScimError::invalid_value(format!(
            "'{name}' is too long once normalized"
        )));
    }
    Ok(())
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
    check_changes(kind, &Value::Null, body)
}

/// [`check_resource`] for a change of a stored resource: only the top-level attributes whose
/// value changes are checked, so that data stored before a rule existed never blocks an
/// unrelated change (Entra's `active=false` must always reach a user).
pub fn check_changes(kind: ResourceKind, before: &Value, after: &Value) -> Result<()> {
    let Some(map) = after.as_object() else {
        return Ok(());
    };
    let identity = match kind {
        ResourceKind::User => "userName",
        ResourceKind::Group => "displayName",
    };
    // A resource over the size limit may not grow (one stored before the limit still takes
    // changes that do not enlarge it).
    let size = |v: &Value| serde_json::to_vec(v).map_or(0, |b| b.len());
    let after_size = size(after);
    if after_size > MAX_RESOURCE_BYTES && after_size > size(before) {
        return Err(ScimError::invalid_value(format!(
            "the resource would be {after_size} bytes; at most {MAX_RESOURCE_BYTES} are stored"
        )));
    }
    for (key, value) in map {
        if before.get(key) == Some(value) {
            continue;
        }
        check_counts(key, value)?;
        check_strings(key, value)?;
        match (key.as_str(), value.as_str()) {
            (k, Some(s)) if k == identity => check_identity(identity, s)?,
            ("externalId", Some(s)) => check_length("externalId", s)?,
            _ => {}
        }
    }
    Ok(())
}

/// No array below `v` holds more than [`MAX_VALUES`] values.
fn check_counts(path: &str, v: &Value) -> Result<()> {
    match v {
        Value::Array(items) if items.len() > MAX_VALUES => Err(ScimError::invalid_value(format!(
            "'{path}' has {} values; at most {MAX_VALUES} are accepted",
            items.len()
        ))),
        Value::Object(map) => map
            .iter()
            .try_for_each(|(k, v)| check_counts(&format!("{path}.{k}"), v)),
        _ => Ok(()),
    }
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
            "c1\u{92}control",
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
        // Joiners and direction marks real names and emoji need are kept…
        check_identity("displayName", "🧑\u{200d}💻 Engineering").unwrap();
        check_identity("displayName", "کتاب\u{200c}خانه").unwrap();
        check_identity("displayName", "\u{5e9}\u{5dc}\u{5d5}\u{5dd}\u{200f} team").unwrap();
        // …and ignored by the comparison, so they cannot make a look-alike.
        assert_eq!(fold("jo\u{200d}hn"), fold("john"));
        assert!(check_identity("userName", &"\u{fdfa}".repeat(500)).is_err());
        assert!(check_identity("userName", &"a".repeat(MAX_IDENTITY_CHARS + 1)).is_err());
    }

    #[test]
    fn values_per_attribute_and_resource_size_are_bounded() {
        use serde_json::json;
        let emails: Vec<Value> = (0..MAX_VALUES + 1)
            .map(|i| json!({"value": format!("u{i}@x.com")}))
            .collect();
        let many = json!({"userName": "u", "emails": emails});
        assert!(check_resource(ResourceKind::User, &many).is_err());
        let big = json!({"userName": "u", "title": "t".repeat(16_000), "nickName": "n".repeat(16_000),
            "displayName": "d".repeat(16_000), "profileUrl": "p".repeat(16_000), "locale": "l".repeat(16_000)});
        assert!(check_resource(ResourceKind::User, &big).is_err());
        // A stored oversized resource still takes a change that does not enlarge it.
        let mut smaller = big.clone();
        smaller["locale"] = json!("en-US");
        check_changes(ResourceKind::User, &big, &smaller).unwrap();
    }

    #[test]
    fn a_change_is_checked_only_where_it_changes_something() {
        use serde_json::json;
        let legacy = json!({"userName": "jdoe@x.com ", "active": true});
        let disabled = json!({"userName": "jdoe@x.com ", "active": false});
        check_changes(ResourceKind::User, &legacy, &disabled).unwrap();
        let renamed = json!({"userName": "jdoe@x.com\u{200b}", "active": true});
        assert!(check_changes(ResourceKind::User, &legacy, &renamed).is_err());
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
        check_value("title", "O\u{92}Brien").unwrap();
        assert!(check_value("title", &"x".repeat(MAX_STRING_CHARS + 1)).is_err());
    }
}
