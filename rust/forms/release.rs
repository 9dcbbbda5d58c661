//! The python-multipart releases the form parsers reproduce, and what differs between them
//! as far as Starlette 1.10's `FormParser` / `MultiPartParser` can observe.
//!
//! Starlette drives `QuerystringParser` and `MultipartParser` with its own callbacks and calls
//! `parse_options_header`; nothing else of python-multipart (its `FormParser`, `File`, the
//! base64 / quoted-printable decoders) runs under Starlette. Across 0.0.32..=0.0.34:
//!
//! - `QuerystringParser`: 0.0.33 skips empty name/data callbacks itself (`BaseParser.callback`
//!   already did) and 0.0.34 goes from a field's `&` straight to the next field name and
//!   reuses the separator it found: the same callbacks with the same data, so no difference.
//! - `MultipartParser`: 0.0.33 matches the first boundary in one `startswith`, 0.0.34 skips
//!   intermediate states on complete CRLFs (after a header, after the headers, after a
//!   delimiter): the same callbacks at the same bytes. What 0.0.34 changes is a delimiter
//!   followed by spaces or tabs (`BOUNDARY_PADDING`), see [`Release::boundary_padding`].
//! - `parse_options_header`: see [`Release::lowers_content_type`] and
//!   [`Release::strips_blanks_only`].

/// One supported python-multipart release. Python passes it as a small integer, the mode
/// `tachyon_engine.formparsers.PORTED_MULTIPART_VERSIONS` maps the installed version to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Release {
    V0_0_32,
    V0_0_33,
    V0_0_34,
}

impl Release {
    /// The release for a mode (0: 0.0.32, 1: 0.0.33, 2: 0.0.34), or None.
    pub fn from_mode(mode: u8) -> Option<Self> {
        match mode {
            0 => Some(Release::V0_0_32),
            1 => Some(Release::V0_0_33),
            2 => Some(Release::V0_0_34),
            _ => None,
        }
    }

    /// From 0.0.33, `parse_options_header` lowercases the content type in front of the
    /// options too (`ctype.lower()`); before, only a value without `;` was lowercased.
    pub fn lowers_content_type(self) -> bool {
        self >= Release::V0_0_33
    }

    /// From 0.0.34, `_parseparam` and the option-less `parse_options_header` strip only
    /// spaces and tabs (`strip(" \t")`) where they stripped every `str.isspace()` character
    /// (vertical tab, form feed, U+001C..U+001F, U+0085, U+00A0, ...).
    pub fn strips_blanks_only(self) -> bool {
        self >= Release::V0_0_34
    }

    /// From 0.0.34, a delimiter (`\r\n--boundary`) followed by a space or tab ends the part:
    /// spaces and tabs up to a CRLF are skipped (`BOUNDARY_PADDING`) and the next part's
    /// headers follow; anything else there is a parse error. Before, such a line was data.
    pub fn boundary_padding(self) -> bool {
        self >= Release::V0_0_34
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_and_behaviours() {
        assert_eq!(Release::from_mode(0), Some(Release::V0_0_32));
        assert_eq!(Release::from_mode(1), Some(Release::V0_0_33));
        assert_eq!(Release::from_mode(2), Some(Release::V0_0_34));
        assert_eq!(Release::from_mode(3), None);
        let behaviours = |r: Release| {
            (
                r.lowers_content_type(),
                r.strips_blanks_only(),
                r.boundary_padding(),
            )
        };
        assert_eq!(behaviours(Release::V0_0_32), (false, false, false));
        assert_eq!(behaviours(Release::V0_0_33), (true, false, false));
        assert_eq!(behaviours(Release::V0_0_34), (true, true, true));
    }
}
