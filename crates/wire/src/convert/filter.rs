//! `scim::filter::Filter` ⇄ `pb::Filter` and `AttrPath` ⇄ `pb::AttrPath`. The filter travels
//! as an AST, never as a string, so the store cannot misparse it.

use super::ConvertError;
use crate::pb;
use scim::filter::{CompValue, CompareOp, Filter};
use scim::path::AttrPath;

/// Encodes an attribute path (empty strings for absent parts).
pub fn path_to_pb(p: &AttrPath) -> pb::AttrPath {
    pb::AttrPath {
        urn: p.urn.clone().unwrap_or_default(),
        name: p.name.clone(),
        sub: p.sub.clone().unwrap_or_default(),
    }
}

/// Decodes an attribute path.
pub fn path_from_pb(p: &pb::AttrPath) -> Result<AttrPath, ConvertError> {
    if p.name.is_empty() {
        return Err(ConvertError::new("AttrPath", "empty name"));
    }
    let opt = |s: &str| (!s.is_empty()).then(|| s.to_owned());
    Ok(AttrPath {
        urn: opt(&p.urn),
        name: p.name.clone(),
        sub: opt(&p.sub),
    })
}

fn op_to_pb(op: CompareOp) -> pb::CompareOp {
    match op {
        CompareOp::Eq => pb::CompareOp::Eq,
        CompareOp::Ne => pb::CompareOp::Ne,
        CompareOp::Co => pb::CompareOp::Co,
        CompareOp::Sw => pb::CompareOp::Sw,
        CompareOp::Ew => pb::CompareOp::Ew,
        CompareOp::Gt => pb::CompareOp::Gt,
        CompareOp::Ge => pb::CompareOp::Ge,
        CompareOp::Lt => pb::CompareOp::Lt,
        CompareOp::Le => pb::CompareOp::Le,
    }
}

fn op_from_pb(op: i32) -> Result<CompareOp, ConvertError> {
    Ok(match pb::CompareOp::try_from(op) {
        Ok(pb::CompareOp::Eq) => CompareOp::Eq,
        Ok(pb::CompareOp::Ne) => CompareOp::Ne,
        Ok(pb::CompareOp::Co) => CompareOp::Co,
        Ok(pb::CompareOp::Sw) => CompareOp::Sw,
        Ok(pb::CompareOp::Ew) => CompareOp::Ew,
        Ok(pb::CompareOp::Gt) => CompareOp::Gt,
        Ok(pb::CompareOp::Ge) => CompareOp::Ge,
        Ok(pb::CompareOp::Lt) => CompareOp::Lt,
        Ok(pb::CompareOp::Le) => CompareOp::Le,
        _ => {
            return Err(ConvertError::new(
                "CompareOp",
                format!("unknown value {op}"),
            ));
        }
    })
}

fn value_to_pb(v: &CompValue) -> pb::CompValue {
    use pb::comp_value::Value;
    let value = match v {
        CompValue::Str(s) => Value::Str(s.clone()),
        CompValue::Num(n) => Value::Num(n.to_string()),
        CompValue::Bool(b) => Value::Boolean(*b),
        CompValue::Null => Value::Null(true),
    };
    pb::CompValue { value: Some(value) }
}

fn value_from_pb(v: Option<&pb::CompValue>) -> Result<CompValue, ConvertError> {
    use pb::comp_value::Value;
    Ok(match v.and_then(|v| v.value.as_ref()) {
        Some(Value::Str(s)) => CompValue::Str(s.clone()),
        Some(Value::Num(n)) => CompValue::Num(
            n.parse::<serde_json::Number>()
                .map_err(|_| ConvertError::new("CompValue", "num is not a JSON number"))?,
        ),
        Some(Value::Boolean(b)) => CompValue::Bool(*b),
        Some(Value::Null(_)) => CompValue::Null,
        None => return Err(ConvertError::new("CompValue", "no value")),
    })
}

/// Encodes a filter AST.
pub fn filter_to_pb(f: &Filter) -> pb::Filter {
    use pb::filter::Node;
    let junction = |a: &Filter, b: &Filter| pb::Junction {
        left: Some(Box::new(filter_to_pb(a))),
        right: Some(Box::new(filter_to_pb(b))),
    };
    let node = match f {
        Filter::Compare(path, op, value) => Node::Compare(pb::Compare {
            path: Some(path_to_pb(path)),
            op: op_to_pb(*op) as i32,
            value: Some(value_to_pb(value)),
        }),
        Filter::Present(path) => Node::Present(path_to_pb(path)),
        Filter::And(a, b) => Node::And(Box::new(junction(a, b))),
        Filter::Or(a, b) => Node::Or(Box::new(junction(a, b))),
        Filter::Not(inner) => Node::Not(Box::new(filter_to_pb(inner))),
        Filter::ValuePath(path, inner) => Node::ValuePath(Box::new(pb::ValuePathFilter {
            path: Some(path_to_pb(path)),
            filter: Some(Box::new(filter_to_pb(inner))),
        })),
    };
    pb::Filter { node: Some(node) }
}

/// Decodes a filter AST.
pub fn filter_from_pb(f: &pb::Filter) -> Result<Filter, ConvertError> {
    use pb::filter::Node;
    let missing = |what: &str| ConvertError::new("Filter", format!("missing {what}"));
    let path = |p: Option<&pb::AttrPath>| path_from_pb(p.ok_or_else(|| missing("path"))?);
    let sub = |f: Option<&Box<pb::Filter>>| -> Result<Box<Filter>, ConvertError> {
        Ok(Box::new(filter_from_pb(
            f.ok_or_else(|| missing("operand"))?,
        )?))
    };
    Ok(match f.node.as_ref().ok_or_else(|| missing("node"))? {
        Node::Compare(c) => Filter::Compare(
            path(c.path.as_ref())?,
            op_from_pb(c.op)?,
            value_from_pb(c.value.as_ref())?,
        ),
        Node::Present(p) => Filter::Present(path_from_pb(p)?),
        Node::And(j) => Filter::And(sub(j.left.as_ref())?, sub(j.right.as_ref())?),
        Node::Or(j) => Filter::Or(sub(j.left.as_ref())?, sub(j.right.as_ref())?),
        Node::Not(inner) => Filter::Not(Box::new(filter_from_pb(inner)?)),
        Node::ValuePath(v) => Filter::ValuePath(path(v.path.as_ref())?, sub(v.filter.as_ref())?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn every_filter_shape_round_trips() {
        let filters = [
            r#"userName eq "bjensen""#,
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "m""#,
            r#"title pr and (emails[type eq "work" and value co "@x.com"] or not (active eq false))"#,
            r#"meta.lastModified gt "2011-05-13T04:42:34Z" or x ne null or n le 10.5 or n ge -3"#,
        ];
        for text in filters {
            let f = scim::filter::parse(text).unwrap();
            assert_eq!(filter_from_pb(&filter_to_pb(&f)).unwrap(), f, "{text}");
        }
    }

    #[test]
    fn a_filter_without_a_node_is_rejected() {
        assert!(filter_from_pb(&pb::Filter { node: None }).is_err());
    }
}
