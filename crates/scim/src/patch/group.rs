//! Operations on a Group's `members`, which become a [`MembersDelta`] instead of a change to the
//! body (see [`crate::members`]). Covers Entra's forms (ENTRA §5.2, §5.3, §13.7): several
//! members per `add`, `remove` with a `value` array (only those go), `members[value eq "…"]`,
//! `"$ref": null`, and the RFC forms (`remove` without value clears, `replace` = clear + add).

use super::op::PatchOp;
use super::target::Target;
use crate::filter::{CompValue, CompareOp, Filter};
use crate::members::{MembersDelta, parse_members};
use crate::{Result, ScimError};
use serde_json::Value;

/// Records `op` on `members` in `delta`.
pub(super) fn apply(
    delta: &mut MembersDelta,
    op: PatchOp,
    t: &Target<'_>,
    value: Value,
) -> Result<()> {
    if let Some(sub) = t.sub {
        return Err(ScimError::mutability(format!(
            "attribute 'members.{}' cannot be modified on its own; add or remove whole members",
            sub.name
        )));
    }
    if let Some(filter) = &t.filter {
        if op != PatchOp::Remove {
            return Err(ScimError::invalid_path(
                "a value filter on 'members' is supported by remove only; add members with path 'members'",
            ));
        }
        let mut ids = Vec::new();
        if !value_ids(filter, &mut ids) {
            return Err(ScimError::invalid_filter(
                "members can be filtered by value only: members[value eq \"id\"], optionally joined by 'or'",
            ));
        }
        delta.remove_members(ids.iter().map(String::as_str));
        return Ok(());
    }
    match op {
        PatchOp::Add => delta.add_members(parse_members(value)?),
        PatchOp::Replace => {
            let members = parse_members(value)?;
            delta.clear_all();
            delta.add_members(members);
        }
        // RFC 7644 §3.5.2.2: no value removes every member. Entra's default mode sends the
        // members to remove as the value; only those go (an empty list removes nobody).
        PatchOp::Remove if value.is_null() => delta.clear_all(),
        PatchOp::Remove => {
            let members = parse_members(value)?;
            delta.remove_members(members.iter().map(|m| m.value.as_str()));
        }
    }
    Ok(())
}

/// Collects the ids of `value eq "id"` comparisons joined by `or`; false for any other shape.
fn value_ids(filter: &Filter, out: &mut Vec<String>) -> bool {
    match filter {
        Filter::Or(a, b) => value_ids(a, out) && value_ids(b, out),
        Filter::Compare(p, CompareOp::Eq, CompValue::Str(id))
            if p.name == "value" && !id.is_empty() =>
        {
            out.push(id.clone());
            true
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ScimType;
    use crate::members::Member;
    use crate::patch::target::{Origin, Resolution, resolve};
    use crate::path::PatchPath;
    use crate::schema::{Registry, ResourceKind};
    use pretty_assertions::assert_eq;
    use serde_json::json;

    fn run(delta: &mut MembersDelta, op: PatchOp, path: &str, value: Value) -> Result<()> {
        let reg = Registry::new();
        let pp = PatchPath::parse(path).unwrap();
        let Resolution::Attr(t) = resolve(
            &reg,
            ResourceKind::Group,
            &pp.attr,
            pp.filter.as_ref(),
            Origin::Path,
        )?
        else {
            panic!("not an attribute")
        };
        apply(delta, op, &t, value)
    }

    #[test]
    fn remove_with_a_value_array_removes_only_those_members() {
        let mut d = MembersDelta::default();
        run(
            &mut d,
            PatchOp::Remove,
            "members",
            json!([{"$ref": null, "value": "a"}, {"value": "b"}]),
        )
        .unwrap();
        assert_eq!(
            d,
            MembersDelta {
                clear: false,
                add: vec![],
                remove: vec!["a".into(), "b".into()]
            }
        );
    }

    #[test]
    fn remove_without_value_clears_and_replace_is_clear_plus_add() {
        let mut d = MembersDelta::default();
        run(&mut d, PatchOp::Remove, "members", Value::Null).unwrap();
        assert_eq!(
            d,
            MembersDelta {
                clear: true,
                add: vec![],
                remove: vec![]
            }
        );
        let mut d = MembersDelta::default();
        run(&mut d, PatchOp::Replace, "Members", json!([{"value": "x"}])).unwrap();
        assert_eq!(
            d,
            MembersDelta {
                clear: true,
                add: vec![Member::new("x")],
                remove: vec![]
            }
        );
    }

    #[test]
    fn value_eq_filters_joined_by_or_remove_those_ids() {
        let mut d = MembersDelta::default();
        run(
            &mut d,
            PatchOp::Remove,
            "members[value eq \"a\" or VALUE eq \"b\"]",
            Value::Null,
        )
        .unwrap();
        assert_eq!(d.remove, vec!["a".to_owned(), "b".to_owned()]);
    }

    #[test]
    fn other_member_filters_are_invalid_filter() {
        for p in [
            "members[type eq \"User\"]",
            "members[value co \"a\"]",
            "members[value eq \"a\" and type eq \"User\"]",
        ] {
            let e = run(
                &mut MembersDelta::default(),
                PatchOp::Remove,
                p,
                Value::Null,
            )
            .unwrap_err();
            assert_eq!(e.scim_type(), Some(ScimType::InvalidFilter), "{p}");
        }
        let e = run(
            &mut MembersDelta::default(),
            PatchOp::Add,
            "members[value eq \"a\"]",
            json!({"value": "a"}),
        )
        .unwrap_err();
        assert_eq!(e.scim_type(), Some(ScimType::InvalidPath));
    }

    #[test]
    fn member_sub_attribute_paths_are_mutability_errors() {
        for p in ["members.display", "members.value"] {
            let e = run(
                &mut MembersDelta::default(),
                PatchOp::Replace,
                p,
                json!("x"),
            )
            .unwrap_err();
            assert_eq!(e.scim_type(), Some(ScimType::Mutability), "{p}");
        }
    }
}
