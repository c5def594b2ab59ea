//! A document root on the file system: the I/O around the core's decisions
//! ([`laputa_core::files`]), in blocking calls. The async server runs [`DocumentRoot::open`]
//! and reads the file on the connection's task: page-cache reads take microseconds, but a
//! read from a cold disk holds up the other connections of that thread for its duration.
//!
//! Every decision is the core's: which request paths are refused, whether a symbolic link
//! leads out of the root, and the whole HTTP answer. This module only canonicalizes, reads
//! metadata and opens the file.

use http::{HeaderMap, Method};
use laputa_core::files::{self, FileAnswer, FileKind, FileMeta, Refusal};
use std::fs::{self, File};
use std::io::{self, Read, Seek, SeekFrom, Take};
use std::path::{Path, PathBuf};

/// A directory whose files are served: nothing outside it ever is, through `..`, encoded
/// separators, backslashes, drives or symbolic links that lead out (SECURITY.md, "Document
/// root", lists the hostile paths and their answers).
///
/// ```
/// use laputa::files::DocumentRoot;
/// use laputa::http::{HeaderMap, Method, StatusCode};
/// use std::io::Read;
///
/// # let dir = std::env::temp_dir().join(format!("laputa-doc-root-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir)?;
/// std::fs::write(dir.join("hello.txt"), "Hello, Laputa")?;
/// let root = DocumentRoot::new(&dir)?;
///
/// let response = root.open("/hello.txt", &Method::GET, &HeaderMap::new())?;
/// assert_eq!(response.answer().status(), StatusCode::OK);
/// assert_eq!(response.answer().headers()["content-type"], "text/plain; charset=utf-8");
/// let (_answer, body) = response.into_parts();
/// let mut text = String::new();
/// body.expect("a GET of a file has a body").read_to_string(&mut text)?;
/// assert_eq!(text, "Hello, Laputa");
///
/// let refused = root.open("/%2e%2e/etc/passwd", &Method::GET, &HeaderMap::new())?;
/// assert_eq!(refused.answer().status(), StatusCode::NOT_FOUND);
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct DocumentRoot {
    root: PathBuf,
    /// Hidden files and directories are served too.
    serve_hidden: bool,
}

impl DocumentRoot {
    /// A document root at `path`, canonicalized now (so a root reached through a symbolic
    /// link is its target). Fails if `path` does not exist or is not a directory.
    ///
    /// ```
    /// use laputa::files::DocumentRoot;
    ///
    /// let root = DocumentRoot::new(".")?;
    /// assert!(root.path().is_absolute());
    /// assert!(DocumentRoot::new("/no/such/directory").is_err());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn new(path: impl AsRef<Path>) -> io::Result<Self> {
        let root = fs::canonicalize(path)?;
        if !fs::metadata(&root)?.is_dir() {
            return Err(io::Error::new(io::ErrorKind::NotADirectory, "a document root must be a directory"));
        }
        Ok(Self { root, serve_hidden: false })
    }

    /// Serves hidden files and directories too (names starting with `.`, as the core's
    /// [`SafePath::is_hidden`](files::SafePath::is_hidden) says), which are `404` by default:
    /// a `.git` or `.env` left in a served directory is the usual leak. `.well-known` is
    /// always served.
    ///
    /// ```
    /// use laputa::files::DocumentRoot;
    /// use laputa::http::{HeaderMap, Method, StatusCode};
    ///
    /// # let dir = std::env::temp_dir().join(format!("laputa-doc-hidden-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir)?;
    /// std::fs::write(dir.join(".env"), "PASSWORD=hunter2")?;
    /// let root = DocumentRoot::new(&dir)?;
    /// let status = |root: &DocumentRoot| root.open("/.env", &Method::GET, &HeaderMap::new()).map(|r| r.answer().status());
    /// assert_eq!(status(&root)?, StatusCode::NOT_FOUND);
    /// assert_eq!(status(&root.serve_hidden(true))?, StatusCode::OK);
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn serve_hidden(mut self, serve: bool) -> Self {
        self.serve_hidden = serve;
        self
    }

    /// The canonicalized root.
    ///
    /// ```
    /// use laputa::files::DocumentRoot;
    ///
    /// assert_eq!(DocumentRoot::new(".")?.path(), std::fs::canonicalize(".")?);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn path(&self) -> &Path {
        &self.root
    }

    /// The answer to `method` on `request_path` (the request target's path, with or without
    /// its query) given the request's headers, and the file to send, opened and positioned at
    /// the range the answer names.
    ///
    /// In order: the core's [`resolve`](files::resolve) (a refusal answers `400` or `404`),
    /// and a hidden path refused (`404`) unless [`serve_hidden`](Self::serve_hidden); the file under the root, canonicalized, which must be [inside](files::is_inside) it
    /// (else `404`); its metadata and, for a regular file, the file opened and its metadata
    /// read again from the open file; the core's [`respond`](files::respond). A missing file
    /// or one the process may not read is a `404` ([`FileAnswer::from_lookup_error`]); any
    /// other I/O error (a symbolic link loop, a failing disk, no descriptors left) is
    /// returned, for the server to answer `500`.
    ///
    /// ```
    /// use laputa::files::DocumentRoot;
    /// use laputa::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
    /// use std::io::Read;
    ///
    /// # let dir = std::env::temp_dir().join(format!("laputa-doc-open-{}", std::process::id()));
    /// # std::fs::create_dir_all(dir.join("docs"))?;
    /// std::fs::write(dir.join("docs/index.html"), "<h1>0123456789</h1>")?;
    /// let root = DocumentRoot::new(&dir)?;
    ///
    /// let moved = root.open("/docs", &Method::GET, &HeaderMap::new())?;
    /// assert_eq!(moved.answer().status(), StatusCode::MOVED_PERMANENTLY);
    /// assert_eq!(moved.answer().headers()[header::LOCATION], "/docs/");
    ///
    /// let mut headers = HeaderMap::new();
    /// headers.insert(header::RANGE, HeaderValue::from_static("bytes=4-13"));
    /// let (answer, body) = root.open("/docs/", &Method::GET, &headers)?.into_parts();
    /// assert_eq!(answer.status(), StatusCode::PARTIAL_CONTENT);
    /// let mut digits = String::new();
    /// body.unwrap().read_to_string(&mut digits)?;
    /// assert_eq!(digits, "0123456789");
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn open(&self, request_path: &str, method: &Method, headers: &HeaderMap) -> io::Result<FileResponse> {
        let path = match files::resolve(request_path) {
            Ok(path) if path.is_hidden() && !self.serve_hidden => Err(Refusal::Hidden),
            resolved => resolved,
        };
        let path = match path {
            Ok(path) => path,
            Err(refusal) => return Ok(FileResponse::without_body(FileAnswer::refused(refusal))),
        };
        let lookup_failed = |error: io::Error| match FileAnswer::from_lookup_error(&error) {
            Some(answer) => Ok(FileResponse::without_body(answer)),
            None => Err(error),
        };
        let (target, meta) = match self.lookup(&path.file()) {
            Ok(found) => found,
            Err(error) => return lookup_failed(error),
        };
        if !files::is_inside(&self.root, &target) {
            return Ok(FileResponse::without_body(FileAnswer::not_found()));
        }
        let mut meta = FileMeta::from(&meta);
        // Only a regular file is opened (a FIFO would block); its metadata is read again from
        // the open file, so that the answer describes the bytes sent.
        let mut file = None;
        if meta.kind == FileKind::File {
            let opened = match File::open(&target) {
                Ok(opened) => opened,
                Err(error) => return lookup_failed(error),
            };
            meta = FileMeta::from(&opened.metadata()?);
            file = Some(opened);
        }
        let answer = files::respond(method, headers, &path, &meta);
        let body = match (answer.body(), file) {
            (Some(range), Some(mut file)) => {
                // A file just opened is at its start: no `lseek` for a body that starts there.
                if range.offset > 0 {
                    file.seek(SeekFrom::Start(range.offset))?;
                }
                Some(file.take(range.len))
            }
            _ => None,
        };
        Ok(FileResponse { answer, body })
    }

    /// The canonical path of `file` (relative, without `.` or `..`) under the root, as
    /// [`fs::canonicalize`] gives it, and its metadata (symbolic links followed).
    ///
    /// Where no component under the root is a symbolic link, that path is the root joined with
    /// `file`, and one `lstat` per component below the root shows it (the last one's is the
    /// metadata): `realpath(3)` instead calls `readlink` on every component of the whole path,
    /// the root's included (four for `/srv/www/site/a.txt`, before a `stat`), on every request.
    /// A symbolic link anywhere below the root is left to [`fs::canonicalize`]; either way
    /// [`files::is_inside`] then decides.
    fn lookup(&self, file: &Path) -> io::Result<(PathBuf, fs::Metadata)> {
        let mut target = self.root.clone();
        let mut components = file.components().peekable();
        while let Some(component) = components.next() {
            target.push(component);
            let meta = fs::symlink_metadata(&target)?;
            if meta.file_type().is_symlink() {
                let target = fs::canonicalize(self.root.join(file))?;
                let meta = fs::metadata(&target)?;
                return Ok((target, meta));
            }
            if components.peek().is_none() {
                return Ok((target, meta));
            }
        }
        // No component at all names the root itself (a `SafePath` always names a file in it).
        Ok((target, fs::metadata(&self.root)?))
    }
}

/// What [`DocumentRoot::open`] gives back: the core's answer and, when it has a body, the
/// file opened at the body's first byte and limited to its length.
///
/// ```
/// use laputa::files::DocumentRoot;
/// use laputa::http::{HeaderMap, Method, StatusCode};
///
/// let root = DocumentRoot::new(".")?;
/// let response = root.open("/no-such-file", &Method::GET, &HeaderMap::new())?;
/// assert_eq!(response.answer().status(), StatusCode::NOT_FOUND);
/// assert!(response.into_parts().1.is_none());
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct FileResponse {
    answer: FileAnswer,
    body: Option<Take<File>>,
}

impl FileResponse {
    fn without_body(answer: FileAnswer) -> Self {
        Self { answer, body: None }
    }

    /// The core's answer: status, headers, and the [`ByteRange`](files::ByteRange) of the
    /// body.
    ///
    /// ```
    /// use laputa::files::DocumentRoot;
    /// use laputa::http::{HeaderMap, Method};
    ///
    /// let response = DocumentRoot::new(".")?.open("/%", &Method::GET, &HeaderMap::new())?;
    /// assert_eq!(response.answer().status().as_u16(), 400);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn answer(&self) -> &FileAnswer {
        &self.answer
    }

    /// The answer and the body: the file, positioned at the range's offset and limited to its
    /// length ([`Take::into_inner`] gives the `File` back, for `sendfile` and the like). The
    /// body is `None` for `HEAD` and for every answer without one.
    ///
    /// ```
    /// use laputa::files::DocumentRoot;
    /// use laputa::http::{HeaderMap, Method};
    ///
    /// let (answer, body) = DocumentRoot::new(".")?.open("/", &Method::POST, &HeaderMap::new())?.into_parts();
    /// assert!(matches!(answer.status().as_u16(), 404 | 405));
    /// assert!(body.is_none());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn into_parts(self) -> (FileAnswer, Option<Take<File>>) {
        (self.answer, self.body)
    }
}
