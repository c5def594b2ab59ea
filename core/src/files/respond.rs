//! The answer to a request for a file, from its metadata.

use super::conditional::{http_date, if_range_holds, list_matches, Validators};
use super::path::SafePath;
use super::range::{self, ByteRange, RangeAsk};
use http::header::{
    HeaderValue, ACCEPT_RANGES, ALLOW, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, ETAG, IF_MATCH, IF_MODIFIED_SINCE,
    IF_NONE_MATCH, IF_RANGE, IF_UNMODIFIED_SINCE, LAST_MODIFIED, LOCATION, RANGE, X_CONTENT_TYPE_OPTIONS,
};
use http::{HeaderMap, Method, StatusCode};
use std::io;
use std::time::SystemTime;

/// What kind of file a path names.
///
/// ```
/// use laputa_core::files::{FileKind, FileMeta};
///
/// assert_eq!(FileMeta::directory().kind, FileKind::Directory);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// A regular file: served.
    File,
    /// A directory: redirected to its `/` form, whose [`INDEX`](super::INDEX) is served.
    Directory,
    /// Anything else (a FIFO, a socket, a device): never served, never opened (a FIFO would
    /// block the open).
    Other,
}

/// The facts about a file that the adapter reads (`std::fs::metadata`) and the core decides
/// on: nothing else of the file system reaches the core.
///
/// ```
/// use laputa_core::files::{FileKind, FileMeta};
/// use std::time::{Duration, UNIX_EPOCH};
///
/// let meta = FileMeta::file(1024, Some(UNIX_EPOCH + Duration::from_secs(1_700_000_000)));
/// assert_eq!((meta.len, meta.kind), (1024, FileKind::File));
/// # let here = std::env::current_dir().unwrap();
/// let of_a_directory = FileMeta::from(&std::fs::metadata(here)?);
/// assert_eq!(of_a_directory.kind, FileKind::Directory);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileMeta {
    /// The length in bytes.
    pub len: u64,
    /// The last modification, if the platform knows it. Without it (or before 1970), the
    /// answer has no `ETag` or `Last-Modified`, and conditional requests get the whole file.
    pub modified: Option<SystemTime>,
    /// File, directory, or other.
    pub kind: FileKind,
}

impl FileMeta {
    /// A regular file of `len` bytes.
    ///
    /// ```
    /// use laputa_core::files::FileMeta;
    ///
    /// assert_eq!(FileMeta::file(3, None).len, 3);
    /// ```
    pub fn file(len: u64, modified: Option<SystemTime>) -> Self {
        Self { len, modified, kind: FileKind::File }
    }

    /// A directory.
    ///
    /// ```
    /// use laputa_core::files::{FileKind, FileMeta};
    ///
    /// assert_eq!(FileMeta::directory().kind, FileKind::Directory);
    /// ```
    pub fn directory() -> Self {
        Self { len: 0, modified: None, kind: FileKind::Directory }
    }
}

impl From<&std::fs::Metadata> for FileMeta {
    /// The facts of metadata already read (following symbolic links, as `std::fs::metadata`
    /// and `File::metadata` do).
    fn from(meta: &std::fs::Metadata) -> Self {
        let kind = if meta.is_file() {
            FileKind::File
        } else if meta.is_dir() {
            FileKind::Directory
        } else {
            FileKind::Other
        };
        Self { len: meta.len(), modified: meta.modified().ok(), kind }
    }
}

/// The answer to a request for a file: status, headers, and the bytes of the file to send.
///
/// The headers include `Content-Length` whenever a body may follow (every status but `304`),
/// `0` for answers without one; the body of those is empty. For `HEAD` the headers are those
/// of `GET` and [`body`](Self::body) is `None`.
///
/// ```
/// use laputa_core::files::{resolve, respond, ByteRange, FileMeta};
/// use laputa_core::http::{HeaderMap, Method, StatusCode};
///
/// let answer = respond(&Method::GET, &HeaderMap::new(), &resolve("/a.txt")?, &FileMeta::file(5, None));
/// assert_eq!(answer.status(), StatusCode::OK);
/// assert_eq!(answer.headers()["content-type"], "text/plain; charset=utf-8");
/// assert_eq!(answer.body(), Some(ByteRange { offset: 0, len: 5 }));
/// # Ok::<(), laputa_core::files::Refusal>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileAnswer {
    status: StatusCode,
    headers: HeaderMap,
    body: Option<ByteRange>,
}

impl FileAnswer {
    /// An answer without a body: `Content-Length: 0`.
    fn empty(status: StatusCode) -> Self {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_LENGTH, HeaderValue::from(0));
        Self { status, headers, body: None }
    }

    /// The answer to a missing file, or one the adapter refuses to open (a symbolic link out
    /// of the root): `404` with an empty body, the same whatever the reason.
    ///
    /// ```
    /// use laputa_core::files::FileAnswer;
    /// use laputa_core::http::StatusCode;
    ///
    /// assert_eq!(FileAnswer::not_found().status(), StatusCode::NOT_FOUND);
    /// assert_eq!(FileAnswer::not_found().headers()["content-length"], "0");
    /// ```
    pub fn not_found() -> Self {
        Self::empty(StatusCode::NOT_FOUND)
    }

    /// The answer to a request path that [`resolve`](super::resolve) refused: its status
    /// (`400` or `404`), an empty body.
    ///
    /// ```
    /// use laputa_core::files::{resolve, FileAnswer};
    /// use laputa_core::http::StatusCode;
    ///
    /// let refusal = resolve("/../secret").unwrap_err();
    /// assert_eq!(FileAnswer::refused(refusal).status(), StatusCode::NOT_FOUND);
    /// ```
    pub fn refused(refusal: super::Refusal) -> Self {
        Self::empty(refusal.status())
    }

    /// The answer to an error of the lookup (canonicalizing, reading metadata, opening):
    /// `404` when the file is not there for this request (not found, a file where a directory
    /// was expected, permission denied: the same answer, so that nothing is learnt of what
    /// exists); `None` for every other error, which the server answers as its own failure
    /// (`500`): a symbolic link loop, an I/O error, no descriptors left.
    ///
    /// ```
    /// use laputa_core::files::FileAnswer;
    /// use laputa_core::http::StatusCode;
    /// use std::io::{Error, ErrorKind};
    ///
    /// let missing = FileAnswer::from_lookup_error(&Error::from(ErrorKind::NotFound));
    /// assert_eq!(missing.map(|a| a.status()), Some(StatusCode::NOT_FOUND));
    /// assert_eq!(FileAnswer::from_lookup_error(&Error::other("disk on fire")), None);
    /// ```
    pub fn from_lookup_error(error: &io::Error) -> Option<Self> {
        match error.kind() {
            io::ErrorKind::NotFound | io::ErrorKind::NotADirectory | io::ErrorKind::PermissionDenied => {
                Some(Self::not_found())
            }
            _ => None,
        }
    }

    /// The status.
    ///
    /// ```
    /// use laputa_core::files::FileAnswer;
    ///
    /// assert_eq!(FileAnswer::not_found().status().as_u16(), 404);
    /// ```
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The headers to send.
    ///
    /// ```
    /// use laputa_core::files::FileAnswer;
    ///
    /// assert_eq!(FileAnswer::not_found().headers().len(), 1);
    /// ```
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The bytes of the file to send as the body: `None` for `HEAD` and for every answer
    /// without one (an empty body then follows the headers, unless the status is `304`).
    ///
    /// ```
    /// use laputa_core::files::FileAnswer;
    ///
    /// assert_eq!(FileAnswer::not_found().body(), None);
    /// ```
    pub fn body(&self) -> Option<ByteRange> {
        self.body
    }

    /// Status, headers and body range, to build a response of another library's types.
    ///
    /// ```
    /// use laputa_core::files::FileAnswer;
    ///
    /// let (status, headers, body) = FileAnswer::not_found().into_parts();
    /// assert_eq!((status.as_u16(), headers.len(), body), (404, 1, None));
    /// ```
    pub fn into_parts(self) -> (StatusCode, HeaderMap, Option<ByteRange>) {
        (self.status, self.headers, self.body)
    }
}

/// Decides the answer to `method` on the file `path` names, given the request's headers and
/// the file's metadata. In order (RFC 9110 section 13.2.2 for the conditions):
///
/// 1. A file that is neither a regular file nor a directory, or a directory where [`INDEX`]
///    was looked up: `404`.
/// 2. A method other than `GET` or `HEAD`: `405` with `Allow: GET, HEAD`.
/// 3. A directory asked for without its trailing `/`: `301` to the path with it
///    ([`SafePath::directory_location`]), so that relative links in its index resolve.
/// 4. `If-Match` without our tag or `*` (strong comparison), else `If-Unmodified-Since` before
///    the file's modification: `412`.
/// 5. `If-None-Match` with our tag or `*` (weak comparison), else (only without
///    `If-None-Match`) `If-Modified-Since` at or after the modification: `304`, with `ETag`
///    and `Last-Modified` and no body. Unparsable dates are ignored.
/// 6. For `GET` with one `Range` and no `If-Range`, or an `If-Range` that holds (a strong tag
///    equal to ours, or a date equal to `Last-Modified`): `bytes=a-b`, `a-`, `-n` give a
///    `206` with `Content-Range: bytes a-b/len`; a range past the end (or `-0`, or any range
///    of an empty file) a `416` with `Content-Range: bytes */len`. Several ranges, another
///    unit or a malformed value are ignored: the whole file, `200` (RFC 9110 lets a server
///    ignore `Range`; it saves a multipart body). `HEAD` ignores `Range`, as RFC 9110 section
///    14.2 says (range handling is defined for `GET` only).
/// 7. Otherwise `200` with the whole file.
///
/// Every `200`, `206` and `304` carries the validators when the modification time is known:
/// `ETag` is strong, `"<len>-<seconds>.<nanoseconds>"` of the modification time, in hex (a
/// file rewritten with the same length within one tick of its file system's clock keeps its
/// tag: with nanosecond timestamps, as on ext4, XFS, APFS and NTFS, a negligible case), and
/// `Last-Modified` is that time as an HTTP-date. `200` and `206` also carry `Content-Type`
/// (from the extension of [`SafePath::file_name`] by `mime_guess`, `text/*` and JavaScript
/// with `; charset=utf-8`, `application/octet-stream` when unknown), `Accept-Ranges: bytes`
/// and `X-Content-Type-Options: nosniff`, so that a browser never runs a file served as text
/// or an image as a script or a page.
///
/// ```
/// use laputa_core::files::{resolve, respond, ByteRange, FileMeta};
/// use laputa_core::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
/// use std::time::{Duration, UNIX_EPOCH};
///
/// let path = resolve("/video.mp4")?;
/// let meta = FileMeta::file(1000, Some(UNIX_EPOCH + Duration::from_secs(1_700_000_000)));
/// let mut headers = HeaderMap::new();
/// headers.insert(header::RANGE, HeaderValue::from_static("bytes=-100"));
/// let answer = respond(&Method::GET, &headers, &path, &meta);
/// assert_eq!(answer.status(), StatusCode::PARTIAL_CONTENT);
/// assert_eq!(answer.headers()[header::CONTENT_RANGE], "bytes 900-999/1000");
/// assert_eq!(answer.headers()[header::LAST_MODIFIED], "Tue, 14 Nov 2023 22:13:20 GMT");
/// assert_eq!(answer.body(), Some(ByteRange { offset: 900, len: 100 }));
///
/// // The tag of that answer, sent back: nothing changed.
/// let mut headers = HeaderMap::new();
/// headers.insert(header::IF_NONE_MATCH, answer.headers()[header::ETAG].clone());
/// let again = respond(&Method::GET, &headers, &path, &meta);
/// assert_eq!((again.status(), again.body()), (StatusCode::NOT_MODIFIED, None));
/// # Ok::<(), laputa_core::files::Refusal>(())
/// ```
///
/// [`INDEX`]: super::INDEX
pub fn respond(method: &Method, headers: &HeaderMap, path: &SafePath, meta: &FileMeta) -> FileAnswer {
    match meta.kind {
        FileKind::Other => return FileAnswer::not_found(),
        FileKind::Directory if path.is_directory() => return FileAnswer::not_found(),
        _ => {}
    }
    let head = method == Method::HEAD;
    if method != Method::GET && !head {
        let mut answer = FileAnswer::empty(StatusCode::METHOD_NOT_ALLOWED);
        answer.headers.insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
        return answer;
    }
    if meta.kind == FileKind::Directory {
        let mut answer = FileAnswer::empty(StatusCode::MOVED_PERMANENTLY);
        if let Ok(location) = HeaderValue::try_from(path.directory_location()) {
            answer.headers.insert(LOCATION, location);
        }
        return answer;
    }

    let validators = Validators::new(meta.len, meta.modified);
    let etag = validators.as_ref().map(|v| v.etag.as_str());
    let last_modified = validators.as_ref().map(|v| v.last_modified);
    let mut validator_headers = HeaderMap::new();
    if let Some(v) = &validators {
        for (name, value) in [(ETAG, &v.etag), (LAST_MODIFIED, &v.http_date())] {
            if let Ok(value) = HeaderValue::from_str(value) {
                validator_headers.insert(name, value);
            }
        }
    }

    let precondition_failed = match list_matches(headers, &IF_MATCH, etag, true) {
        Some(matched) => !matched,
        None => match (single(headers, &IF_UNMODIFIED_SINCE).and_then(http_date), last_modified) {
            (Some(date), Some(modified)) => modified > date,
            _ => false,
        },
    };
    if precondition_failed {
        return FileAnswer::empty(StatusCode::PRECONDITION_FAILED);
    }
    let not_modified = match list_matches(headers, &IF_NONE_MATCH, etag, false) {
        Some(matched) => matched,
        None => match (single(headers, &IF_MODIFIED_SINCE).and_then(http_date), last_modified) {
            (Some(date), Some(modified)) => modified <= date,
            _ => false,
        },
    };
    if not_modified {
        return FileAnswer { status: StatusCode::NOT_MODIFIED, headers: validator_headers, body: None };
    }

    let whole = ByteRange { offset: 0, len: meta.len };
    let ask = match single(headers, &RANGE) {
        Some(range) if !head => match headers.get_all(IF_RANGE).iter().count() {
            0 => range::parse(range, meta.len),
            1 if single(headers, &IF_RANGE).is_some_and(|v| if_range_holds(v, validators.as_ref())) => {
                range::parse(range, meta.len)
            }
            _ => RangeAsk::Whole,
        },
        _ => RangeAsk::Whole,
    };
    let (status, body) = match ask {
        RangeAsk::Whole => (StatusCode::OK, whole),
        RangeAsk::Part(part) => (StatusCode::PARTIAL_CONTENT, part),
        RangeAsk::Unsatisfiable => {
            let mut answer = FileAnswer::empty(StatusCode::RANGE_NOT_SATISFIABLE);
            if let Ok(value) = HeaderValue::try_from(format!("bytes */{}", meta.len)) {
                answer.headers.insert(CONTENT_RANGE, value);
            }
            return answer;
        }
    };
    let mut answer = FileAnswer { status, headers: validator_headers, body: (!head).then_some(body) };
    answer.headers.insert(CONTENT_TYPE, content_type(path.file_name()));
    answer.headers.insert(ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    answer.headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    answer.headers.insert(CONTENT_LENGTH, HeaderValue::from(body.len));
    if status == StatusCode::PARTIAL_CONTENT {
        let value = format!("bytes {}-{}/{}", body.offset, body.end() - 1, meta.len);
        if let Ok(value) = HeaderValue::try_from(value) {
            answer.headers.insert(CONTENT_RANGE, value);
        }
    }
    answer
}

/// The value of a field sent once, as text; `None` if absent, repeated or not text.
fn single<'a>(headers: &'a HeaderMap, name: &http::HeaderName) -> Option<&'a str> {
    let mut values = headers.get_all(name).iter();
    match (values.next(), values.next()) {
        (Some(value), None) => value.to_str().ok(),
        _ => None,
    }
}

/// `Content-Type` from the file name's extension; UTF-8 is assumed for text.
/// The `Content-Type` of a file by its name's extension (`mime_guess`): text and JavaScript
/// with `; charset=utf-8`, `application/octet-stream` when unknown.
///
/// ```
/// use laputa_core::files::content_type;
///
/// assert_eq!(content_type("index.html"), "text/html; charset=utf-8");
/// assert_eq!(content_type("chat.js"), "text/javascript; charset=utf-8");
/// assert_eq!(content_type("logo.png"), "image/png");
/// assert_eq!(content_type("README"), "application/octet-stream");
/// ```
pub fn content_type(file_name: &str) -> HeaderValue {
    let guess = mime_guess::from_path(file_name).first_raw().unwrap_or("application/octet-stream");
    let text = guess.starts_with("text/") || guess == "application/javascript";
    let value = if text { format!("{guess}; charset=utf-8") } else { guess.to_owned() };
    HeaderValue::try_from(value).unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"))
}
