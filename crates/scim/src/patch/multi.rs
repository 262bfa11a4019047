//! `add`/`replace`/`remove` on a multi-valued attribute (`emails`, `roles`, `addresses`, …),
//! as a whole, through a value filter (`emails[type eq "work"]`), and on a sub-attribute of
//! the selected or of all elements (`emails[type eq "work"].value`, `emails.value`).

use super::element::{
    self, check_immutable, coerce_sub, is_empty_element, merge, pattern_matches, set_sub,
};
use super::op::PatchOp;
use super::single::element_for;
use super::target::Target;
use crate::value::{coerce, coerce_single};
use crate::{Result, ScimError};
use serde_json::{Map, Value};

/// One value of the attribute, and whether this operation wrote it (only written values are
/// checked for `primary` and dropped when left empty).
struct Entry {
    value: Value,
    touched: bool,
}

/// The attribute's new value (`None`: unassigned) after `op` with `value` (`null` when the
/// operation had none).
pub(super) fn apply(
    op: PatchOp,
    t: &Target<'_>,
    current: Option<&Value>,
    value: Value,
) -> Result<Option<Value>> {
    let attr = t.attr;
    let mut entries: Vec<Entry> = match current {
        None => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .cloned()
            .map(|value| Entry {
                value,
                touched: false,
            })
            .collect(),
        Some(other) => vec![Entry {
            value: other.clone(),
            touched: false,
        }],
    };
    match (&t.filter, t.sub) {
        (None, None) => whole(op, t, &mut entries, value)?,
        (None, Some(sub)) => {
            let new = match op {
                PatchOp::Remove => None,
                PatchOp::Add | PatchOp::Replace => coerce_sub(sub, value, &t.attr_path())?,
            };
            if entries.is_empty() && new.is_some() {
                entries.push(Entry {
                    value: Value::Object(Map::new()),
                    touched: false,
                });
            }
            for entry in &mut entries {
                write_sub(entry, sub, new.clone(), t)?;
            }
        }
        (Some(filter), sub) => {
            let selected: Vec<usize> = (0..entries.len())
                .filter(|&i| element::matches(filter, attr, &entries[i].value))
                .collect();
            filtered(op, t, &mut entries, selected, sub, value)?;
        }
    }
    fix_primary(t, &mut entries)?;
    let items: Vec<Value> = entries
        .into_iter()
        .filter(|e| !(e.touched && is_empty_element(&e.value)))
        .map(|e| e.value)
        .collect();
    let new = (!items.is_empty()).then_some(Value::Array(items));
    check_immutable(attr, &t.path, current, new.as_ref())?;
    Ok(new)
}

/// The attribute as a whole: `add` appends new values, `replace` swaps the list, `remove`
/// empties it or, given a value, removes the values it describes.
fn whole(op: PatchOp, t: &Target<'_>, entries: &mut Vec<Entry>, value: Value) -> Result<()> {
    let path = t.attr_path();
    match op {
        PatchOp::Remove if value.is_null() => entries.clear(),
        PatchOp::Remove => {
            let patterns = as_items(coerce(t.attr, value, &path)?);
            entries.retain(|e| {
                !patterns
                    .iter()
                    .any(|p| pattern_matches(t.attr, p, &e.value))
            });
        }
        PatchOp::Replace => {
            *entries = as_items(coerce(t.attr, value, &path)?)
                .into_iter()
                .map(|value| Entry {
                    value,
                    touched: true,
                })
                .collect();
        }
        PatchOp::Add => {
            for value in as_items(coerce(t.attr, value, &path)?) {
                // RFC 7644 §3.5.2.1: a value already present changes nothing.
                if !entries.iter().any(|e| e.value == value) {
                    entries.push(Entry {
                        value,
                        touched: true,
                    });
                }
            }
        }
    }
    Ok(())
}

/// The elements a value filter selected (`selected`, indexes into `entries`).
fn filtered(
    op: PatchOp,
    t: &Target<'_>,
    entries: &mut Vec<Entry>,
    mut selected: Vec<usize>,
    sub: Option<&crate::schema::Attribute>,
    value: Value,
) -> Result<()> {
    let path = t.attr_path();
    if op == PatchOp::Remove {
        match sub {
            None => remove_at(entries, &selected),
            Some(sub) => {
                for &i in &selected {
                    write_sub(&mut entries[i], sub, None, t)?;
                }
            }
        }
        return Ok(());
    }
    // What to write, decided before any element is created: a value that is absent creates none.
    let new = match sub {
        Some(sub) => coerce_sub(sub, value.clone(), &path)?,
        None => {
            let one = match value.clone() {
                Value::Array(mut items) if items.len() <= 1 => items.pop().unwrap_or(Value::Null),
                v => v,
            };
            coerce_single(t.attr, one, &path)?
        }
    };
    if selected.is_empty() {
        if new.is_none() {
            return Ok(());
        }
        entries.push(Entry {
            value: Value::Object(element_for(t)?),
            touched: true,
        });
        selected.push(entries.len() - 1);
    }
    match (sub, new) {
        (Some(sub), new) => {
            for &i in &selected {
                write_sub(&mut entries[i], sub, new.clone(), t)?;
            }
        }
        (None, None) if op == PatchOp::Replace => remove_at(entries, &selected),
        (None, None) => {}
        (None, Some(new)) => {
            let coerced = match new {
                Value::Object(m) => m,
                _ => {
                    return Err(ScimError::invalid_value(format!(
                        "attribute '{path}' needs an object value here"
                    )));
                }
            };
            let raw = match &value {
                Value::Array(items) => items.first().cloned().unwrap_or(Value::Null),
                v => v.clone(),
            };
            for &i in &selected {
                let entry = &mut entries[i];
                let Value::Object(el) = &mut entry.value else {
                    return Err(not_an_object(t));
                };
                merge(t.attr, el, &raw, coerced.clone(), &path)?;
                entry.touched = true;
            }
        }
    }
    Ok(())
}

/// Removes the entries at `indexes` (ascending, as selected).
fn remove_at(entries: &mut Vec<Entry>, indexes: &[usize]) {
    for &i in indexes.iter().rev() {
        entries.remove(i);
    }
}

fn write_sub(
    entry: &mut Entry,
    sub: &crate::schema::Attribute,
    new: Option<Value>,
    t: &Target<'_>,
) -> Result<()> {
    let Value::Object(el) = &mut entry.value else {
        return Err(not_an_object(t));
    };
    set_sub(el, sub, new, &t.attr_path())?;
    entry.touched = true;
    Ok(())
}

fn not_an_object(t: &Target<'_>) -> ScimError {
    ScimError::invalid_value(format!(
        "a stored value of '{}' is not an object",
        t.attr.name
    ))
}

fn as_items(v: Option<Value>) -> Vec<Value> {
    match v {
        Some(Value::Array(items)) => items,
        Some(other) => vec![other],
        None => Vec::new(),
    }
}

/// RFC 7643 §2.4: at most one value is primary; a value this operation made primary wins.
fn fix_primary(t: &Target<'_>, entries: &mut [Entry]) -> Result<()> {
    if t.attr.sub("primary").is_none() {
        return Ok(());
    }
    let is_primary = |e: &Entry| e.value.get("primary") == Some(&Value::Bool(true));
    let new_primary: Vec<usize> = (0..entries.len())
        .filter(|&i| entries[i].touched && is_primary(&entries[i]))
        .collect();
    match new_primary.as_slice() {
        [] => {}
        [keep] => {
            for (i, e) in entries.iter_mut().enumerate() {
                if i != *keep
                    && is_primary(e)
                    && let Value::Object(el) = &mut e.value
                {
                    el.insert("primary".to_owned(), Value::Bool(false));
                }
            }
        }
        _ => {
            return Err(ScimError::invalid_value(format!(
                "at most one value of '{}' may have 'primary' set to true",
                t.attr.name
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ScimType;
    use crate::patch::target::{Origin, Resolution, resolve};
    use crate::path::PatchPath;
    use crate::schema::{Registry, ResourceKind};
    use pretty_assertions::assert_eq;
    use serde_json::json;

    fn run(op: PatchOp, path: &str, current: Value, value: Value) -> Result<Option<Value>> {
        let reg = Registry::new();
        let pp = PatchPath::parse(path).unwrap();
        let Resolution::Attr(t) = resolve(
            &reg,
            ResourceKind::User,
            &pp.attr,
            pp.filter.as_ref(),
            Origin::Path,
        )?
        else {
            panic!("not an attribute")
        };
        let current = (!current.is_null()).then_some(current);
        apply(op, &t, current.as_ref(), value)
    }

    fn work_and_home() -> Value {
        json!([{"value": "w@x.com", "type": "work", "primary": true}, {"value": "h@x.com", "type": "home"}])
    }

    #[test]
    fn replace_through_a_filter_sets_the_sub_attribute_of_the_matching_element() {
        let got = run(
            PatchOp::Replace,
            "emails[type eq \"work\"].value",
            work_and_home(),
            json!("n@x.com"),
        )
        .unwrap();
        assert_eq!(
            got,
            Some(
                json!([{"value": "n@x.com", "type": "work", "primary": true}, {"value": "h@x.com", "type": "home"}])
            )
        );
    }

    #[test]
    fn add_through_a_filter_creates_the_element_when_none_matches() {
        let got = run(
            PatchOp::Add,
            "emails[type eq \"work\"].value",
            Value::Null,
            json!("a@x.com"),
        )
        .unwrap();
        assert_eq!(got, Some(json!([{"type": "work", "value": "a@x.com"}])));
        let got = run(
            PatchOp::Replace,
            "addresses[type eq \"work\"].streetAddress",
            json!([{"type": "home", "locality": "L"}]),
            json!("1 Main St"),
        )
        .unwrap();
        assert_eq!(
            got,
            Some(
                json!([{"type": "home", "locality": "L"}, {"type": "work", "streetAddress": "1 Main St"}])
            )
        );
    }

    #[test]
    fn filter_values_compare_case_insensitively() {
        let got = run(
            PatchOp::Replace,
            "emails[TYPE eq \"WORK\"].Value",
            work_and_home(),
            json!("n@x.com"),
        )
        .unwrap();
        assert_eq!(got.unwrap()[0]["value"], "n@x.com");
    }

    #[test]
    fn a_filter_that_describes_no_element_is_no_target() {
        let e = run(
            PatchOp::Replace,
            "emails[type ne \"work\" or value co \"x\"].value",
            Value::Null,
            json!("a"),
        )
        .unwrap_err();
        assert_eq!(e.scim_type(), Some(ScimType::NoTarget));
    }

    #[test]
    fn removing_the_sub_attribute_drops_the_element_left_empty() {
        let got = run(
            PatchOp::Remove,
            "emails[type eq \"home\"].value",
            work_and_home(),
            Value::Null,
        )
        .unwrap();
        assert_eq!(
            got,
            Some(json!([{"value": "w@x.com", "type": "work", "primary": true}]))
        );
        assert_eq!(
            run(
                PatchOp::Remove,
                "emails[type eq \"work\"]",
                json!([{"value": "w", "type": "work"}]),
                Value::Null
            )
            .unwrap(),
            None
        );
    }

    #[test]
    fn remove_through_a_filter_matching_nothing_changes_nothing() {
        assert_eq!(
            run(
                PatchOp::Remove,
                "emails[type eq \"other\"]",
                work_and_home(),
                Value::Null
            )
            .unwrap(),
            Some(work_and_home())
        );
    }

    #[test]
    fn replacing_with_null_through_a_filter_removes_the_matching_elements() {
        let got = run(
            PatchOp::Replace,
            "emails[type eq \"work\"]",
            work_and_home(),
            Value::Null,
        )
        .unwrap();
        assert_eq!(got, Some(json!([{"value": "h@x.com", "type": "home"}])));
        assert_eq!(
            run(
                PatchOp::Replace,
                "emails[type eq \"other\"]",
                Value::Null,
                Value::Null
            )
            .unwrap(),
            None
        );
    }

    #[test]
    fn replace_through_a_filter_without_sub_attribute_merges_into_the_element() {
        let got = run(
            PatchOp::Replace,
            "emails[type eq \"home\"]",
            work_and_home(),
            json!({"value": "n@x.com", "display": "N"}),
        )
        .unwrap();
        assert_eq!(
            got.unwrap()[1],
            json!({"value": "n@x.com", "type": "home", "display": "N"})
        );
    }

    #[test]
    fn add_appends_new_values_and_skips_present_ones() {
        let got = run(
            PatchOp::Add,
            "emails",
            work_and_home(),
            json!([{"value": "h@x.com", "type": "home"}, {"value": "o@x.com", "type": "other"}]),
        )
        .unwrap();
        assert_eq!(got.unwrap().as_array().unwrap().len(), 3);
    }

    #[test]
    fn a_new_primary_value_demotes_the_old_one() {
        let got = run(
            PatchOp::Add,
            "emails",
            work_and_home(),
            json!({"value": "o@x.com", "primary": "True"}),
        )
        .unwrap()
        .unwrap();
        assert_eq!(got[0]["primary"], false);
        assert_eq!(got[2]["primary"], true);
        let got = run(
            PatchOp::Replace,
            "emails[type eq \"home\"].primary",
            work_and_home(),
            json!(true),
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            (got[0]["primary"].clone(), got[1]["primary"].clone()),
            (json!(false), json!(true))
        );
    }

    #[test]
    fn two_primary_values_in_one_operation_are_invalid_value() {
        let e = run(
            PatchOp::Replace,
            "emails",
            Value::Null,
            json!([{"value": "a", "primary": true}, {"value": "b", "primary": true}]),
        )
        .unwrap_err();
        assert_eq!(e.scim_type(), Some(ScimType::InvalidValue));
    }

    #[test]
    fn replace_swaps_all_values_and_remove_without_value_removes_all() {
        let got = run(
            PatchOp::Replace,
            "roles",
            json!([{"value": "a"}]),
            json!([{"value": "b"}]),
        )
        .unwrap();
        assert_eq!(got, Some(json!([{"value": "b"}])));
        assert_eq!(
            run(
                PatchOp::Remove,
                "roles",
                json!([{"value": "a"}]),
                Value::Null
            )
            .unwrap(),
            None
        );
    }

    #[test]
    fn remove_with_a_value_removes_only_the_described_values() {
        let got = run(
            PatchOp::Remove,
            "emails",
            work_and_home(),
            json!([{"value": "H@X.com"}]),
        )
        .unwrap();
        assert_eq!(
            got,
            Some(json!([{"value": "w@x.com", "type": "work", "primary": true}]))
        );
        let got = run(PatchOp::Remove, "emails", work_and_home(), json!([])).unwrap();
        assert_eq!(got, Some(work_and_home()));
    }

    #[test]
    fn a_sub_attribute_without_filter_writes_every_element_or_creates_one() {
        assert_eq!(
            run(PatchOp::Replace, "emails.value", Value::Null, json!("a")).unwrap(),
            Some(json!([{"value": "a"}]))
        );
        let got = run(
            PatchOp::Replace,
            "emails.display",
            work_and_home(),
            json!("D"),
        )
        .unwrap()
        .unwrap();
        assert!(got.as_array().unwrap().iter().all(|e| e["display"] == "D"));
    }

    #[test]
    fn role_with_a_boolean_string_filter_is_created_with_a_boolean() {
        let got = run(
            PatchOp::Add,
            "roles[primary eq \"True\"].value",
            Value::Null,
            json!("Admin"),
        )
        .unwrap();
        assert_eq!(got, Some(json!([{"primary": true, "value": "Admin"}])));
    }

    #[test]
    fn an_empty_value_sub_attribute_is_absent_like_an_element_with_an_empty_value() {
        let got = run(PatchOp::Add, "emails.value", work_and_home(), json!("")).unwrap();
        assert_eq!(got, None);
        let got = run(
            PatchOp::Replace,
            "emails[type eq \"home\"]",
            work_and_home(),
            json!({"value": "", "display": "H"}),
        )
        .unwrap();
        assert_eq!(got.unwrap()[1], json!({"type": "home", "display": "H"}));
    }
}
