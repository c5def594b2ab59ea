//! The `Sec-WebSocket-Extensions` header grammar (RFC 6455 section 9.1).
//!
//! ```text
//! extension-list = 1#extension
//! extension      = extension-token *( ";" extension-param )
//! extension-param = token [ "=" ( token | quoted-string ) ]
//! ```
//!
//! "When using the quoted-string syntax variant, the value after quoted-string unescaping MUST
//! conform to the 'token' ABNF." The parser is a single forward pass over the bytes with no
//! backtracking, so its time is linear in the length of the value whatever the value holds: the
//! header is attacker-controlled on a server.

use std::fmt;

/// One element of a `Sec-WebSocket-Extensions` list: an extension offered by a client or accepted
/// by a server, with its parameters.
///
/// Names are tokens and compare case-insensitively, so the parser lower-cases them. Values are
/// kept as sent (unquoted), since their meaning belongs to the extension.
///
/// ```
/// use laputa_core::extensions::{parse_extensions, Extension};
///
/// let offer = Extension::new("permessage-deflate").with_param("client_max_window_bits");
/// assert_eq!(offer.to_string(), "permessage-deflate; client_max_window_bits");
/// // What a peer sends, whatever its spelling, parses to the same value.
/// assert_eq!(parse_extensions("PerMessage-Deflate ;Client_Max_Window_Bits")?, [offer]);
/// # Ok::<(), laputa_core::extensions::ExtensionError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Extension {
    /// The extension's name, such as `permessage-deflate`, lower-cased.
    pub name: String,
    /// The parameters in the order they were sent: lower-cased name and, for `name=value`, the
    /// value with any quoting removed. Duplicates are kept: whether they are allowed is for the
    /// extension to decide.
    pub params: Vec<(String, Option<String>)>,
}

impl Extension {
    /// An extension without parameters.
    ///
    /// ```
    /// use laputa_core::extensions::Extension;
    ///
    /// let ext = Extension::new("permessage-deflate");
    /// assert_eq!(ext.name, "permessage-deflate");
    /// assert!(ext.params.is_empty());
    /// ```
    pub fn new(name: impl Into<String>) -> Self {
        Self { name: name.into(), params: Vec::new() }
    }

    /// Adds a parameter without a value (`; name`).
    ///
    /// ```
    /// use laputa_core::extensions::Extension;
    ///
    /// let ext = Extension::new("permessage-deflate").with_param("server_no_context_takeover");
    /// assert_eq!(ext.param("server_no_context_takeover"), Some(None));
    /// assert_eq!(ext.to_string(), "permessage-deflate; server_no_context_takeover");
    /// ```
    #[must_use]
    pub fn with_param(mut self, name: impl Into<String>) -> Self {
        self.params.push((name.into(), None));
        self
    }

    /// Adds a parameter with a value (`; name=value`).
    ///
    /// ```
    /// use laputa_core::extensions::Extension;
    ///
    /// let ext = Extension::new("permessage-deflate").with_param_value("client_max_window_bits", "10");
    /// assert_eq!(ext.param("client_max_window_bits"), Some(Some("10")));
    /// assert_eq!(ext.to_string(), "permessage-deflate; client_max_window_bits=10");
    /// ```
    #[must_use]
    pub fn with_param_value(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.params.push((name.into(), Some(value.into())));
        self
    }

    /// The first parameter called `name` (compared case-insensitively): `None` if absent,
    /// `Some(None)` if present without a value.
    ///
    /// ```
    /// use laputa_core::extensions::parse_extensions;
    ///
    /// let offers = parse_extensions("permessage-deflate; client_max_window_bits; server_max_window_bits=10")?;
    /// assert_eq!(offers[0].param("client_max_window_bits"), Some(None));
    /// assert_eq!(offers[0].param("Server_Max_Window_Bits"), Some(Some("10")));
    /// assert_eq!(offers[0].param("server_no_context_takeover"), None);
    /// # Ok::<(), laputa_core::extensions::ExtensionError>(())
    /// ```
    pub fn param(&self, name: &str) -> Option<Option<&str>> {
        self.params.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_deref())
    }
}

impl fmt::Display for Extension {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&write_extension(self))
    }
}

/// Why a `Sec-WebSocket-Extensions` value does not follow the grammar. Positions are byte offsets
/// into the value.
///
/// ```
/// use laputa_core::extensions::{parse_extensions, ExtensionError};
///
/// assert_eq!(parse_extensions(" , "), Err(ExtensionError::Empty));
/// let err = parse_extensions("permessage-deflate;").unwrap_err();
/// assert_eq!(err, ExtensionError::Unexpected { position: 19, found: None });
/// assert_eq!(err.to_string(), "unexpected end at 19");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExtensionError {
    /// The value names no extension: it is empty or holds only commas and whitespace
    /// (`1#extension` needs at least one).
    Empty,
    /// A byte the grammar does not allow where it stands, or (`found: None`) the value ended where
    /// a token was required.
    Unexpected {
        /// Where the byte stands.
        position: usize,
        /// The byte, or `None` for the end of the value.
        found: Option<u8>,
    },
    /// A quoted string was still open at the end of the value.
    UnterminatedQuote {
        /// Where the opening quote stands.
        position: usize,
    },
    /// A quoted parameter value is not a token once unescaped, which RFC 6455 section 9.1
    /// requires.
    QuotedValueNotToken {
        /// Where the opening quote stands.
        position: usize,
    },
}

impl fmt::Display for ExtensionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("no extension in the list"),
            Self::Unexpected { position, found: Some(byte) } if byte.is_ascii_graphic() => {
                write!(f, "unexpected {:?} at {position}", char::from(*byte))
            }
            Self::Unexpected { position, found: Some(byte) } => write!(f, "unexpected byte {byte:#04x} at {position}"),
            Self::Unexpected { position, found: None } => write!(f, "unexpected end at {position}"),
            Self::UnterminatedQuote { position } => write!(f, "quoted string opened at {position} is not closed"),
            Self::QuotedValueNotToken { position } => {
                write!(f, "quoted value at {position} is not a token once unquoted")
            }
        }
    }
}

impl std::error::Error for ExtensionError {}

/// Parses one `Sec-WebSocket-Extensions` header value: a comma-separated list of extensions.
///
/// A request may carry the header several times; the caller parses each value and concatenates
/// the results, which is what joining the values with commas would give. Whitespace (SP and
/// HTAB) is allowed around tokens and separators, and empty list elements (`a, , b`) are skipped
/// as RFC 7230 section 7 asks. Names and parameter names are lower-cased.
///
/// ```
/// use laputa_core::extensions::parse_extensions;
///
/// let list = parse_extensions("permessage-deflate; client_max_window_bits, x-foo; a=\"1\"").unwrap();
/// assert_eq!(list[0].name, "permessage-deflate");
/// assert_eq!(list[0].param("client_max_window_bits"), Some(None));
/// assert_eq!(list[1].param("a"), Some(Some("1")));
/// ```
pub fn parse_extensions(value: &str) -> Result<Vec<Extension>, ExtensionError> {
    let mut p = Parser { bytes: value.as_bytes(), pos: 0 };
    let mut list = Vec::new();
    loop {
        p.skip_ows();
        match p.peek() {
            None => break,
            Some(b',') => {
                p.pos += 1; // an empty element
                continue;
            }
            Some(_) => {}
        }
        let mut extension = Extension::new(p.token()?.to_ascii_lowercase());
        loop {
            p.skip_ows();
            match p.peek() {
                None => break,
                Some(b',') => {
                    p.pos += 1;
                    break;
                }
                Some(b';') => {
                    p.pos += 1;
                    p.skip_ows();
                    let name = p.token()?.to_ascii_lowercase();
                    p.skip_ows();
                    let value = if p.peek() == Some(b'=') {
                        p.pos += 1;
                        p.skip_ows();
                        Some(p.param_value()?)
                    } else {
                        None
                    };
                    extension.params.push((name, value));
                }
                Some(_) => return Err(p.unexpected()),
            }
        }
        list.push(extension);
    }
    if list.is_empty() {
        return Err(ExtensionError::Empty);
    }
    Ok(list)
}

/// Writes one list element, the inverse of [`parse_extensions`] for a single extension: values
/// that are tokens are written bare, any other value is quoted (with `"` and `\` escaped).
/// Names are written as they are: they should be tokens, and values visible ASCII or spaces,
/// for the result to be a valid header value.
///
/// ```
/// use laputa_core::extensions::{write_extension, Extension};
///
/// let ext = Extension::new("permessage-deflate").with_param_value("server_max_window_bits", "10");
/// assert_eq!(write_extension(&ext), "permessage-deflate; server_max_window_bits=10");
/// ```
pub fn write_extension(ext: &Extension) -> String {
    let mut out = String::with_capacity(ext.name.len() + ext.params.len() * 24);
    write_into(ext, &mut out);
    out
}

/// Writes a whole header value: the elements of [`write_extension`] joined with `", "`.
///
/// ```
/// use laputa_core::extensions::{write_extensions, Extension};
///
/// // An offer with a fallback (RFC 7692 section 5.2).
/// let offers = [
///     Extension::new("permessage-deflate").with_param_value("client_max_window_bits", "10"),
///     Extension::new("permessage-deflate"),
/// ];
/// assert_eq!(write_extensions(&offers), "permessage-deflate; client_max_window_bits=10, permessage-deflate");
/// ```
pub fn write_extensions(list: &[Extension]) -> String {
    let mut out = String::new();
    for (i, ext) in list.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        write_into(ext, &mut out);
    }
    out
}

fn write_into(ext: &Extension, out: &mut String) {
    out.push_str(&ext.name);
    for (name, value) in &ext.params {
        out.push_str("; ");
        out.push_str(name);
        if let Some(value) = value {
            out.push('=');
            if is_token(value.as_bytes()) {
                out.push_str(value);
            } else {
                out.push('"');
                for c in value.chars() {
                    if c == '"' || c == '\\' {
                        out.push('\\');
                    }
                    out.push(c);
                }
                out.push('"');
            }
        }
    }
}

/// `tchar` of RFC 7230 section 3.2.6.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'!' | b'#' | b'$' | b'%' | b'&' | b'\'' | b'*' | b'+' | b'-' | b'.' | b'^' | b'_' | b'`' | b'|' | b'~'
        )
}

fn is_token(bytes: &[u8]) -> bool {
    !bytes.is_empty() && bytes.iter().all(|&b| is_tchar(b))
}

/// A cursor over the header value. Every method moves `pos` forward or fails: nothing is read
/// twice.
struct Parser<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn unexpected(&self) -> ExtensionError {
        ExtensionError::Unexpected { position: self.pos, found: self.peek() }
    }

    /// Skips optional whitespace (`OWS = *( SP / HTAB )`).
    fn skip_ows(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
    }

    /// A non-empty token.
    fn token(&mut self) -> Result<&'a str, ExtensionError> {
        let start = self.pos;
        while self.peek().is_some_and(is_tchar) {
            self.pos += 1;
        }
        if self.pos == start {
            return Err(self.unexpected());
        }
        // Token bytes are ASCII, so any slice of them is UTF-8.
        Ok(std::str::from_utf8(&self.bytes[start..self.pos]).unwrap_or_default())
    }

    /// A parameter value: a token or a quoted string whose unescaped content is a token.
    fn param_value(&mut self) -> Result<String, ExtensionError> {
        if self.peek() != Some(b'"') {
            return self.token().map(str::to_owned);
        }
        let open = self.pos;
        self.pos += 1;
        let mut value = String::new();
        loop {
            let Some(mut byte) = self.peek() else {
                return Err(ExtensionError::UnterminatedQuote { position: open });
            };
            self.pos += 1;
            match byte {
                b'"' => break,
                b'\\' => {
                    let Some(escaped) = self.peek() else {
                        return Err(ExtensionError::UnterminatedQuote { position: open });
                    };
                    self.pos += 1;
                    byte = escaped;
                }
                _ => {}
            }
            // Fail at the first byte that cannot be part of a token: nothing after it could make
            // the value valid.
            if !is_tchar(byte) {
                return Err(ExtensionError::QuotedValueNotToken { position: open });
            }
            value.push(char::from(byte));
        }
        if value.is_empty() {
            return Err(ExtensionError::QuotedValueNotToken { position: open });
        }
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ext(name: &str, params: &[(&str, Option<&str>)]) -> Extension {
        Extension {
            name: name.to_owned(),
            params: params.iter().map(|(n, v)| ((*n).to_owned(), v.map(str::to_owned))).collect(),
        }
    }

    #[test]
    fn parses_rfc_examples() {
        assert_eq!(parse_extensions("foo").unwrap(), vec![ext("foo", &[])]);
        assert_eq!(
            parse_extensions("permessage-deflate; client_max_window_bits").unwrap(),
            vec![ext("permessage-deflate", &[("client_max_window_bits", None)])]
        );
        // RFC 7692 section 5.2, an offer list with a fallback.
        assert_eq!(
            parse_extensions("permessage-deflate; client_max_window_bits=10, permessage-deflate").unwrap(),
            vec![ext("permessage-deflate", &[("client_max_window_bits", Some("10"))]), ext("permessage-deflate", &[])]
        );
        assert_eq!(
            parse_extensions("mux; max-channels=4; flow-control, deflate-stream").unwrap(),
            vec![ext("mux", &[("max-channels", Some("4")), ("flow-control", None)]), ext("deflate-stream", &[])]
        );
    }

    #[test]
    fn whitespace_case_and_empty_elements() {
        let parsed = parse_extensions(" \tPerMessage-Deflate \t; \tServer_No_Context_Takeover ;x = 15 ,\t").unwrap();
        assert_eq!(parsed, vec![ext("permessage-deflate", &[("server_no_context_takeover", None), ("x", Some("15"))])]);
        assert_eq!(parse_extensions(",a, , ,b,,").unwrap(), vec![ext("a", &[]), ext("b", &[])]);
        // Values keep their case: their meaning belongs to the extension.
        assert_eq!(parse_extensions("a; k=VaLuE").unwrap(), vec![ext("a", &[("k", Some("VaLuE"))])]);
    }

    #[test]
    fn quoted_strings() {
        assert_eq!(parse_extensions(r#"a; b="10""#).unwrap(), vec![ext("a", &[("b", Some("10"))])]);
        assert_eq!(
            parse_extensions(r#"a; b = "x\yz" ; c"#).unwrap(),
            vec![ext("a", &[("b", Some("xyz")), ("c", None)])]
        );
        // An escaped quote is no token character.
        assert_eq!(parse_extensions(r#"a; b="x\"""#), Err(ExtensionError::QuotedValueNotToken { position: 5 }));
        assert_eq!(parse_extensions(r#"a; b="x y""#), Err(ExtensionError::QuotedValueNotToken { position: 5 }));
        assert_eq!(parse_extensions(r#"a; b="""#), Err(ExtensionError::QuotedValueNotToken { position: 5 }));
        assert_eq!(parse_extensions(r#"a; b="10"#), Err(ExtensionError::UnterminatedQuote { position: 5 }));
        assert_eq!(parse_extensions(r#"a; b="10\"#), Err(ExtensionError::UnterminatedQuote { position: 5 }));
        // A comma inside quotes is not a separator, and not a token character either.
        assert_eq!(parse_extensions(r#"a; b="1,2""#), Err(ExtensionError::QuotedValueNotToken { position: 5 }));
    }

    #[test]
    fn grammar_errors() {
        let unexpected = |position, found: Option<u8>| Err(ExtensionError::Unexpected { position, found });
        assert_eq!(parse_extensions(""), Err(ExtensionError::Empty));
        assert_eq!(parse_extensions(" , ,\t"), Err(ExtensionError::Empty));
        assert_eq!(parse_extensions(";a"), unexpected(0, Some(b';')));
        assert_eq!(parse_extensions("a;"), unexpected(2, None));
        assert_eq!(parse_extensions("a;;b"), unexpected(2, Some(b';')));
        assert_eq!(parse_extensions("a; b="), unexpected(5, None));
        assert_eq!(parse_extensions("a; b=c=d"), unexpected(6, Some(b'=')));
        assert_eq!(parse_extensions("a b"), unexpected(2, Some(b'b')));
        assert_eq!(parse_extensions("a; b c"), unexpected(5, Some(b'c')));
        assert_eq!(parse_extensions("a=b"), unexpected(1, Some(b'=')));
        assert_eq!(parse_extensions("a; b=\"c\"d"), unexpected(8, Some(b'd')));
        assert_eq!(parse_extensions("a\u{e9}"), unexpected(1, Some(0xc3)));
        assert_eq!(parse_extensions("a\r\n b"), unexpected(1, Some(b'\r')));
        assert_eq!(parse_extensions("(a)"), unexpected(0, Some(b'(')));
    }

    #[test]
    fn odd_names_are_just_names() {
        let parsed = parse_extensions("constructor; __proto__=1; toString, hasOwnProperty").unwrap();
        assert_eq!(
            parsed,
            vec![ext("constructor", &[("__proto__", Some("1")), ("tostring", None)]), ext("hasownproperty", &[])]
        );
    }

    #[test]
    fn hostile_inputs_are_linear() {
        // Shapes that make backtracking parsers explode. Each must finish in one pass; no timing
        // assertion, but a quadratic parser would take minutes on 100 KB.
        const N: usize = 100_000;
        let semicolons = format!("a{}", ";".repeat(N));
        assert!(parse_extensions(&semicolons).is_err());
        let equals = "a=".repeat(N / 2);
        assert!(parse_extensions(&equals).is_err());
        let chained = format!("a; {}", "a=a=".repeat(N / 4));
        assert!(parse_extensions(&chained).is_err());
        let quote = format!("a; b=\"{}", "a".repeat(N));
        assert_eq!(parse_extensions(&quote), Err(ExtensionError::UnterminatedQuote { position: 5 }));
        let escapes = format!("a; b=\"{}", "\\a".repeat(N / 2));
        assert_eq!(parse_extensions(&escapes), Err(ExtensionError::UnterminatedQuote { position: 5 }));
        let spaces = format!("a{}", " ".repeat(N));
        assert_eq!(parse_extensions(&spaces).unwrap().len(), 1);
        let commas = ",".repeat(N);
        assert_eq!(parse_extensions(&commas), Err(ExtensionError::Empty));
        // Valid but large: linear in time and memory.
        let params = format!("a{}", "; p".repeat(N / 3));
        assert_eq!(parse_extensions(&params).unwrap()[0].params.len(), N / 3);
        let many = "a,".repeat(N / 2);
        assert_eq!(parse_extensions(&many).unwrap().len(), N / 2);
    }

    #[test]
    fn write_round_trips() {
        let cases = [
            ext("permessage-deflate", &[]),
            ext("permessage-deflate", &[("client_max_window_bits", None), ("server_max_window_bits", Some("10"))]),
            ext("x", &[("quoted", Some("has space")), ("q", Some(r#"a"b\c"#)), ("empty", Some(""))]),
        ];
        for case in &cases {
            let written = write_extension(case);
            let parsed = parse_extensions(&written);
            if case.params.iter().all(|(_, v)| !matches!(v, Some(v) if !is_token(v.as_bytes()))) {
                assert_eq!(parsed.unwrap(), vec![case.clone()], "{written}");
            } else {
                // Non-token values are written quoted, which RFC 6455 does not let the parser take.
                assert!(parsed.is_err(), "{written}");
            }
        }
        assert_eq!(write_extension(&cases[2]), r#"x; quoted="has space"; q="a\"b\\c"; empty="""#);
        let list = write_extensions(&cases[..2]);
        assert_eq!(list, "permessage-deflate, permessage-deflate; client_max_window_bits; server_max_window_bits=10");
        assert_eq!(parse_extensions(&list).unwrap(), cases[..2].to_vec());
        // Parsing then writing normalises the spelling.
        let parsed = parse_extensions("A ;B=\"1\";c").unwrap();
        assert_eq!(write_extensions(&parsed), "a; b=1; c");
    }

    #[test]
    fn error_messages() {
        assert_eq!(parse_extensions("a;").unwrap_err().to_string(), "unexpected end at 2");
        assert_eq!(parse_extensions("a=").unwrap_err().to_string(), "unexpected '=' at 1");
        assert_eq!(parse_extensions("a\u{e9}").unwrap_err().to_string(), "unexpected byte 0xc3 at 1");
        assert_eq!(parse_extensions("").unwrap_err().to_string(), "no extension in the list");
    }

    #[test]
    fn builder_and_lookup() {
        let e = Extension::new("permessage-deflate").with_param("client_max_window_bits").with_param_value("x", "1");
        assert_eq!(e.param("CLIENT_MAX_WINDOW_BITS"), Some(None));
        assert_eq!(e.param("x"), Some(Some("1")));
        assert_eq!(e.param("y"), None);
        assert_eq!(e.to_string(), "permessage-deflate; client_max_window_bits; x=1");
    }
}
