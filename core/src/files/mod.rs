//! A document root's decisions, sans-IO: which file a request path names, whether a symbolic
//! link leads out of the root, and the HTTP answer to a request for a file (RFC 9110: content
//! type, validators, conditional requests, one byte range).
//!
//! The adapter does the I/O in between (`laputa::files::DocumentRoot` does all of it):
//!
//! 1. [`resolve`] the request path into a [`SafePath`], or answer the [`Refusal`]'s status
//!    ([`FileAnswer::refused`]). Nothing outside the root can be named: no `..`, no encoded
//!    separator, no backslash, no NUL, no drive.
//! 2. Join [`SafePath::file`] under the canonicalized root and canonicalize the result; ask
//!    [`is_inside`] (a symbolic link that leads out is a `404`). Errors of the lookup go
//!    through [`FileAnswer::from_lookup_error`].
//! 3. Read the metadata into a [`FileMeta`] and ask [`respond`]; send the
//!    [`FileAnswer`]'s status, headers and [`FileAnswer::body`] (a [`ByteRange`] of the file).
//!
//! ```
//! use laputa_core::files::{is_inside, resolve, respond, FileAnswer, FileMeta};
//! use laputa_core::http::{HeaderMap, Method, StatusCode};
//! use std::path::Path;
//!
//! let root = Path::new("/srv/www"); // as canonicalized
//! let answer = |request_path: &str, meta: FileMeta| -> FileAnswer {
//!     let path = match resolve(request_path) {
//!         Ok(path) => path,
//!         Err(refusal) => return FileAnswer::refused(refusal),
//!     };
//!     let target = root.join(path.file()); // the adapter canonicalizes it here
//!     if !is_inside(root, &target) {
//!         return FileAnswer::not_found();
//!     }
//!     respond(&Method::GET, &HeaderMap::new(), &path, &meta)
//! };
//! assert_eq!(answer("/", FileMeta::file(10, None)).status(), StatusCode::OK);
//! assert_eq!(answer("/docs", FileMeta::directory()).status(), StatusCode::MOVED_PERMANENTLY);
//! assert_eq!(answer("/%2e%2e/etc/passwd", FileMeta::file(10, None)).status(), StatusCode::NOT_FOUND);
//! assert_eq!(answer("/%", FileMeta::file(10, None)).status(), StatusCode::BAD_REQUEST);
//! ```

mod conditional;
mod path;
mod range;
mod respond;

pub use path::{is_inside, resolve, Refusal, SafePath, INDEX, MAX_PATH_LEN, MAX_SEGMENT_LEN};
pub use range::ByteRange;
pub use respond::{content_type, respond, FileAnswer, FileKind, FileMeta};

#[cfg(test)]
mod tests;
