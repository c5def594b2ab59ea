//! A request path turned into segments under the document root, or refused.

use http::StatusCode;
use std::fmt;
use std::path::{Component, Path, PathBuf};

/// The file served for a request path that ends in `/`.
pub const INDEX: &str = "index.html";

/// The longest segment accepted, in bytes once decoded (`NAME_MAX` on most file systems).
pub const MAX_SEGMENT_LEN: usize = 255;

/// The longest path accepted, in bytes once decoded, so that root and path stay well below
/// `PATH_MAX` and a lookup never fails for the length alone.
pub const MAX_PATH_LEN: usize = 2048;

/// Why [`resolve`] refused a request path, each with the status to answer
/// ([`Refusal::status`]).
///
/// A malformed request target is a `400`; a well-formed path that names something outside the
/// root, or something no file under the root can be, is a `404`, the answer to a missing file,
/// so that a probe learns nothing it could not learn from a typo.
///
/// ```
/// use laputa_core::files::{resolve, Refusal};
/// use laputa_core::http::StatusCode;
///
/// assert_eq!(resolve("/a/%2e%2E/etc/passwd"), Err(Refusal::DotSegment));
/// assert_eq!(Refusal::DotSegment.status(), StatusCode::NOT_FOUND);
/// assert_eq!(resolve("/%zz").map_err(|r| r.status()), Err(StatusCode::BAD_REQUEST));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Refusal {
    /// `400`: not an origin-form path (empty, or not starting with `/`: `*`, `http://x/`).
    NotAPath,
    /// `400`: a `%` that starts no `%XX` triple.
    BadEscape,
    /// `400`: a segment that is not UTF-8 once decoded (`%C0%AE`, `%FF`).
    NotUtf8,
    /// `400`: a raw control byte, or a raw `#`, in the path.
    RawControl,
    /// `404`: a segment of dots only: `.`, `..`, `...`, raw or encoded in any case (`%2e%2E`).
    DotSegment,
    /// `404`: an encoded separator: `%2F` (`/`) or `%5C` (`\`).
    EncodedSeparator,
    /// `404`: a raw `\`, which Windows takes as a separator.
    Backslash,
    /// `404`: a decoded NUL or other control character (`%00`, `%0A`, `%7F`).
    Control,
    /// `404`: an empty segment: `//` anywhere, a leading `//` (scheme-relative) included.
    EmptySegment,
    /// `404`: a `:` in a segment: a drive (`C:`) or an NTFS stream (`a::$DATA`) on Windows.
    Colon,
    /// `404`: a Windows device name (`CON`, `NUL`, `COM1.txt`...), in any case.
    DeviceName,
    /// `404`: a segment over [`MAX_SEGMENT_LEN`] or a path over [`MAX_PATH_LEN`] bytes.
    TooLong,
    /// `404`: a hidden file or directory ([`SafePath::is_hidden`]), for a document root that
    /// does not serve them; [`resolve`] itself accepts them.
    Hidden,
}

impl Refusal {
    /// The status to answer: `400` for a malformed request target, `404` for the rest.
    ///
    /// ```
    /// use laputa_core::files::Refusal;
    /// use laputa_core::http::StatusCode;
    ///
    /// assert_eq!(Refusal::BadEscape.status(), StatusCode::BAD_REQUEST);
    /// assert_eq!(Refusal::Backslash.status(), StatusCode::NOT_FOUND);
    /// ```
    pub fn status(self) -> StatusCode {
        match self {
            Self::NotAPath | Self::BadEscape | Self::NotUtf8 | Self::RawControl => StatusCode::BAD_REQUEST,
            Self::DotSegment
            | Self::EncodedSeparator
            | Self::Backslash
            | Self::Control
            | Self::EmptySegment
            | Self::Colon
            | Self::DeviceName
            | Self::TooLong
            | Self::Hidden => StatusCode::NOT_FOUND,
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NotAPath => "not an absolute path",
            Self::BadEscape => "a % that starts no %XX triple",
            Self::NotUtf8 => "a segment that is not UTF-8",
            Self::RawControl => "a raw control byte or # in the path",
            Self::DotSegment => "a dot segment",
            Self::EncodedSeparator => "an encoded / or \\",
            Self::Backslash => "a backslash",
            Self::Control => "an encoded control character",
            Self::EmptySegment => "an empty segment",
            Self::Colon => "a : in a segment",
            Self::DeviceName => "a Windows device name",
            Self::TooLong => "a segment or path too long",
            Self::Hidden => "a hidden file or directory",
        })
    }
}

impl std::error::Error for Refusal {}

/// A request path that [`resolve`] accepted: normal segments relative to the document root,
/// each non-empty, none `.` or `..`, none holding `/`, `\`, `:` or a control character, so
/// that joining them under the root can name nothing outside it (symbolic links aside: see
/// [`is_inside`]).
///
/// ```
/// use laputa_core::files::resolve;
/// use std::path::Path;
///
/// let path = resolve("/docs/caf%C3%A9/")?;
/// assert_eq!(path.segments(), ["docs", "caf\u{e9}"]);
/// assert!(path.is_directory());
/// assert_eq!(path.file(), Path::new("docs/caf\u{e9}/index.html"));
/// # Ok::<(), laputa_core::files::Refusal>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SafePath {
    segments: Vec<String>,
    directory: bool,
    query: Option<String>,
}

impl SafePath {
    /// The decoded segments of the request path (without [`INDEX`]).
    ///
    /// ```
    /// use laputa_core::files::resolve;
    ///
    /// assert_eq!(resolve("/a%20b/c.txt?x=1")?.segments(), ["a b", "c.txt"]);
    /// assert!(resolve("/")?.segments().is_empty());
    /// # Ok::<(), laputa_core::files::Refusal>(())
    /// ```
    pub fn segments(&self) -> &[String] {
        &self.segments
    }

    /// Whether the request path ended in `/` (the root included): a directory, whose
    /// [`INDEX`] is served.
    ///
    /// ```
    /// use laputa_core::files::resolve;
    ///
    /// assert!(resolve("/")?.is_directory());
    /// assert!(!resolve("/docs")?.is_directory());
    /// # Ok::<(), laputa_core::files::Refusal>(())
    /// ```
    pub fn is_directory(&self) -> bool {
        self.directory
    }

    /// Whether a segment names a hidden file or directory: one whose name starts with `.`
    /// (`.git`, `.env`, `.htpasswd`), where secrets left in a served directory usually are,
    /// except `.well-known` (RFC 8615: the place for metadata meant to be served, such as
    /// ACME challenges).
    ///
    /// ```
    /// use laputa_core::files::resolve;
    ///
    /// assert!(resolve("/.env")?.is_hidden());
    /// assert!(resolve("/app/.git/config")?.is_hidden());
    /// assert!(resolve("/%2Eenv")?.is_hidden(), "decoded first");
    /// assert!(!resolve("/.well-known/acme-challenge/token")?.is_hidden());
    /// assert!(!resolve("/a.b/c")?.is_hidden());
    /// # Ok::<(), laputa_core::files::Refusal>(())
    /// ```
    pub fn is_hidden(&self) -> bool {
        self.segments.iter().any(|segment| segment.starts_with('.') && segment != ".well-known")
    }

    /// The file to look up, relative to the root: the segments, and [`INDEX`] after them for
    /// a directory. Every component is a [`Component::Normal`].
    ///
    /// ```
    /// use laputa_core::files::resolve;
    /// use std::path::Path;
    ///
    /// assert_eq!(resolve("/")?.file(), Path::new("index.html"));
    /// assert_eq!(resolve("/a/b.css")?.file(), Path::new("a/b.css"));
    /// # Ok::<(), laputa_core::files::Refusal>(())
    /// ```
    pub fn file(&self) -> PathBuf {
        let mut file: PathBuf = self.segments.iter().collect();
        if self.directory {
            file.push(INDEX);
        }
        file
    }

    /// The name of the file looked up (its last component), whose extension gives the
    /// content type.
    ///
    /// ```
    /// use laputa_core::files::resolve;
    ///
    /// assert_eq!(resolve("/a/")?.file_name(), "index.html");
    /// assert_eq!(resolve("/a/b.css")?.file_name(), "b.css");
    /// # Ok::<(), laputa_core::files::Refusal>(())
    /// ```
    pub fn file_name(&self) -> &str {
        match self.segments.last() {
            Some(last) if !self.directory => last,
            _ => INDEX,
        }
    }

    /// Where a request for this path as a directory goes: the segments encoded again, then
    /// `/`, then the query if it was printable ASCII. Never starts with `//`, so it never
    /// names another host.
    ///
    /// ```
    /// use laputa_core::files::resolve;
    ///
    /// assert_eq!(resolve("/caf%C3%A9?x=1")?.directory_location(), "/caf%C3%A9/?x=1");
    /// # Ok::<(), laputa_core::files::Refusal>(())
    /// ```
    pub fn directory_location(&self) -> String {
        let mut location = String::from("/");
        for segment in &self.segments {
            for &byte in segment.as_bytes() {
                if byte.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=@".contains(&byte) {
                    location.push(char::from(byte));
                } else {
                    location.push_str(&format!("%{byte:02X}"));
                }
            }
            location.push('/');
        }
        if let Some(query) = &self.query {
            location.push('?');
            location.push_str(query);
        }
        location
    }
}

/// Turns a request path (the request target's path, with or without its `?query`) into
/// segments under the document root, or refuses it.
///
/// The path is percent-decoded once (RFC 3986 section 2.1), segment by segment, so that
/// `%252e` is the file named `%2e`, never `.`. Empty segments are refused rather than
/// collapsed, so that each file has one path. A trailing `/` asks for a directory, whose
/// [`INDEX`] is served. [`Refusal`] lists what is refused and with which status.
///
/// ```
/// use laputa_core::files::{resolve, Refusal};
///
/// assert_eq!(resolve("/img/logo.png")?.segments(), ["img", "logo.png"]);
/// assert_eq!(resolve("/../etc/passwd"), Err(Refusal::DotSegment));
/// assert_eq!(resolve("/.%2E/etc/passwd"), Err(Refusal::DotSegment));
/// assert_eq!(resolve("/a%2F..%2Fb"), Err(Refusal::EncodedSeparator));
/// assert_eq!(resolve("/a\\b"), Err(Refusal::Backslash));
/// assert_eq!(resolve("/a%00.txt"), Err(Refusal::Control));
/// assert_eq!(resolve("//evil.example/"), Err(Refusal::EmptySegment));
/// assert_eq!(resolve("/C:/Windows"), Err(Refusal::Colon));
/// # Ok::<(), Refusal>(())
/// ```
pub fn resolve(request_path: &str) -> Result<SafePath, Refusal> {
    let (path, query) = match request_path.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (request_path, None),
    };
    let rest = path.strip_prefix('/').ok_or(Refusal::NotAPath)?;
    if rest.starts_with('/') {
        return Err(Refusal::EmptySegment);
    }
    if path.bytes().any(|b| b.is_ascii_control() || b == b'#') {
        return Err(Refusal::RawControl);
    }
    let (rest, directory) = match rest.strip_suffix('/') {
        Some(rest) => (rest, true),
        None => (rest, rest.is_empty()),
    };
    let mut segments = Vec::new();
    let mut total = 0;
    if !rest.is_empty() {
        for raw in rest.split('/') {
            let segment = segment(raw)?;
            total += segment.len() + 1;
            if total > MAX_PATH_LEN {
                return Err(Refusal::TooLong);
            }
            segments.push(segment);
        }
    }
    // A query is only carried into a redirect, and only when it is printable ASCII.
    let query = query.filter(|q| q.bytes().all(|b| b.is_ascii_graphic() && b != b'#')).map(str::to_owned);
    Ok(SafePath { segments, directory, query })
}

/// Decodes and checks one segment.
fn segment(raw: &str) -> Result<String, Refusal> {
    if raw.is_empty() {
        return Err(Refusal::EmptySegment);
    }
    if raw.contains('\\') {
        return Err(Refusal::Backslash);
    }
    let bytes = raw.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = |at: usize| bytes.get(at).and_then(|&b| char::from(b).to_digit(16));
            let (Some(hi), Some(lo)) = (hex(i + 1), hex(i + 2)) else {
                return Err(Refusal::BadEscape);
            };
            let byte = (hi * 16 + lo) as u8;
            if byte == b'/' || byte == b'\\' {
                return Err(Refusal::EncodedSeparator);
            }
            decoded.push(byte);
            i += 3;
        } else {
            decoded.push(bytes[i]);
            i += 1;
        }
    }
    let segment = String::from_utf8(decoded).map_err(|_| Refusal::NotUtf8)?;
    if segment.len() > MAX_SEGMENT_LEN {
        return Err(Refusal::TooLong);
    }
    if segment.bytes().all(|b| b == b'.') {
        return Err(Refusal::DotSegment);
    }
    if segment.chars().any(char::is_control) {
        return Err(Refusal::Control);
    }
    if segment.contains(':') {
        return Err(Refusal::Colon);
    }
    if is_device_name(&segment) {
        return Err(Refusal::DeviceName);
    }
    Ok(segment)
}

/// Windows opens a device for these names whatever the directory and extension.
fn is_device_name(segment: &str) -> bool {
    let stem = segment.split('.').next().unwrap_or(segment).trim_end_matches(' ');
    let upper = stem.to_ascii_uppercase();
    match upper.as_bytes() {
        b"CON" | b"PRN" | b"AUX" | b"NUL" | b"CONIN$" | b"CONOUT$" => true,
        [b'C', b'O', b'M', n] | [b'L', b'P', b'T', n] => n.is_ascii_digit(),
        // COM¹ ² ³ and LPT¹ ² ³ (superscript digits, in UTF-8) are devices too.
        [b'C', b'O', b'M', 0xC2, n] | [b'L', b'P', b'T', 0xC2, n] => matches!(n, 0xB9 | 0xB2 | 0xB3),
        _ => false,
    }
}

/// Whether `target` lies inside `root` (or is `root`), component by component, both as
/// [`std::fs::canonicalize`] gave them: absolute, every symbolic link followed, no `.` or
/// `..`. This is the decision on symbolic links: a link whose target, canonicalized, is not
/// inside the canonicalized root is refused (with `404`), wherever it points.
///
/// ```
/// use laputa_core::files::is_inside;
/// use std::path::Path;
///
/// let root = Path::new("/srv/www");
/// assert!(is_inside(root, Path::new("/srv/www/a/b.html")));
/// assert!(is_inside(root, root));
/// assert!(!is_inside(root, Path::new("/srv/www2/secret")));
/// assert!(!is_inside(root, Path::new("/etc/passwd")));
/// assert!(!is_inside(root, Path::new("/srv/www/../etc")));
/// assert!(!is_inside(Path::new("srv/www"), Path::new("srv/www/a")));
/// ```
pub fn is_inside(root: &Path, target: &Path) -> bool {
    let plain = |path: &Path| {
        path.is_absolute() && path.components().all(|c| !matches!(c, Component::CurDir | Component::ParentDir))
    };
    plain(root) && plain(target) && target.starts_with(root)
}
