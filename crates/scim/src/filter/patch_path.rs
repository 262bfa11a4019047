//! Parsing PATCH target paths (RFC 7644 §3.5.2, the `PATH` rule of Figure 1):
//! `attr`, `attr.sub`, `urn:…:attr(.sub)`, and `attr[valFilter]` optionally followed by `.sub`.
//! The bracketed filter goes through the filter parser, so both accept the same value filters.

use super::lexer::{SyntaxError, Tok};
use super::parser::{FilterLimits, Parser, exceeds_length, filter_error, sub_after_bracket};
use crate::path::{AttrPath, PatchPath};
use crate::{Result, ScimError};

/// Parses a PATCH `path`. Errors in its structure are `invalidPath`; errors inside the
/// brackets are `invalidFilter` (RFC 7644 §3.12 lists invalidFilter for PATCH path filters).
pub(crate) fn parse_patch_path(input: &str) -> Result<PatchPath> {
    let limits = FilterLimits::default();
    if exceeds_length(input, limits.max_length) {
        return Err(ScimError::invalid_path(format!(
            "path is longer than {} characters",
            limits.max_length
        )));
    }
    let mut p = Parser::new(input, limits.max_depth);
    let first = p.next().map_err(path_error)?;
    let Tok::Word(word) = first.tok else {
        return Err(path_error(SyntaxError::new(
            first.pos,
            "expected an attribute path",
        )));
    };
    let mut attr = AttrPath::parse(&word)?;
    let open = p.next().map_err(path_error)?;
    match open.tok {
        Tok::Eof => return Ok(PatchPath { attr, filter: None }),
        Tok::LBracket if attr.sub.is_none() => {}
        Tok::LBracket => {
            return Err(path_error(SyntaxError::new(
                open.pos,
                "a value filter must follow a top-level attribute name",
            )));
        }
        _ => {
            return Err(path_error(SyntaxError::new(
                open.pos,
                "expected '[' or the end of the path",
            )));
        }
    }
    let (filter, _) = p.bracketed(open.pos).map_err(filter_error)?;
    let after = p.next().map_err(path_error)?;
    match after.tok {
        Tok::Eof => {}
        Tok::Word(w) => {
            attr.sub = Some(sub_after_bracket(&w, after.pos).map_err(path_error)?);
            let end = p.next().map_err(path_error)?;
            if end.tok != Tok::Eof {
                return Err(path_error(SyntaxError::new(
                    end.pos,
                    "expected the end of the path",
                )));
            }
        }
        _ => {
            return Err(path_error(SyntaxError::new(
                after.pos,
                "expected '.subAttribute' or the end of the path",
            )));
        }
    }
    Ok(PatchPath {
        attr,
        filter: Some(filter),
    })
}

fn path_error(e: SyntaxError) -> ScimError {
    ScimError::invalid_path(format!(
        "invalid path: {} (at position {})",
        e.reason, e.pos
    ))
}
