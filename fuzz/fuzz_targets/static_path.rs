//! The document root's decisions (`laputa_core::files`) on arbitrary request paths, headers
//! and file metadata.
//!
//! Input: `mode`, the file's length (8 bytes, little-endian), its modification time (8 bytes,
//! little-endian signed seconds from 1970: before it and past year 9999 too), then text: the
//! request path on the first line, a header `name: value` on each further line. `mode` bits
//! 0-1 pick the method (GET, HEAD, POST, GET), bits 2-3 the kind (file, file, directory,
//! other), bit 4 drops the modification time, bit 5 adds nanoseconds to it.
//!
//! Checked: no panic; a refusal is a 400 or a 404; an accepted path has segments that are
//! non-empty and hold no `/`, `\`, NUL, control or `:`, none made of dots only, whose file,
//! joined under a root, is inside it, and whose redirect is a local path and a valid header
//! value; an answer's body never leaves the file (`offset + len <= len of the file`), agrees
//! with `Content-Length` and `Content-Range`, is `None` for HEAD and for every status
//! without one.
#![no_main]

use laputa_core::files::{is_inside, resolve, respond, FileKind, FileMeta};
use laputa_core::http::header::{CONTENT_LENGTH, CONTENT_RANGE};
use laputa_core::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use libfuzzer_sys::fuzz_target;
use std::path::{Component, Path};
use std::time::{Duration, UNIX_EPOCH};

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    let Some((len, rest)) = rest.split_first_chunk::<8>() else { return };
    let Some((mtime, rest)) = rest.split_first_chunk::<8>() else { return };
    let len = u64::from_le_bytes(*len);
    let secs = i64::from_le_bytes(*mtime);
    let nanos = if mode & 0x20 != 0 { u32::from(mode) * 7_777_777 } else { 0 };
    let modified = if secs >= 0 {
        UNIX_EPOCH.checked_add(Duration::new(secs.unsigned_abs(), nanos))
    } else {
        UNIX_EPOCH.checked_sub(Duration::new(secs.unsigned_abs(), nanos))
    };
    let kind = match (mode >> 2) & 3 {
        0 | 1 => FileKind::File,
        2 => FileKind::Directory,
        _ => FileKind::Other,
    };
    let meta = FileMeta { len, modified: modified.filter(|_| mode & 0x10 == 0), kind };
    let method = match mode & 3 {
        1 => Method::HEAD,
        2 => Method::POST,
        _ => Method::GET,
    };

    let text = String::from_utf8_lossy(rest);
    let mut lines = text.split('\n');
    let request_path = lines.next().unwrap_or_default();
    let mut headers = HeaderMap::new();
    for line in lines {
        let Some((name, value)) = line.split_once(':') else { continue };
        if let (Ok(name), Ok(value)) =
            (HeaderName::from_bytes(name.trim().as_bytes()), HeaderValue::from_str(value.trim()))
        {
            headers.append(name, value);
        }
    }

    let path = match resolve(request_path) {
        Ok(path) => path,
        Err(refusal) => {
            assert!(matches!(refusal.status().as_u16(), 400 | 404), "{refusal:?}");
            return;
        }
    };
    for segment in path.segments() {
        assert!(!segment.is_empty(), "{request_path:?}");
        assert!(!segment.bytes().all(|b| b == b'.'), "{request_path:?}");
        assert!(!segment.contains(['/', '\\', '\0', ':']), "{request_path:?}");
        assert!(!segment.chars().any(char::is_control), "{request_path:?}");
    }
    let file = path.file();
    assert!(file.components().all(|c| matches!(c, Component::Normal(_))), "{request_path:?} -> {file:?}");
    let root = Path::new("/srv/www");
    assert!(is_inside(root, &root.join(&file)), "{request_path:?} -> {file:?}");
    let location = path.directory_location();
    assert!(location.starts_with('/') && !location.starts_with("//"), "{location:?}");
    assert!(HeaderValue::from_str(&location).is_ok(), "{location:?}");

    let answer = respond(&method, &headers, &path, &meta);
    let status = answer.status();
    let header = |name| answer.headers().get(name).map(|v: &HeaderValue| v.to_str().unwrap().to_owned());
    match answer.body() {
        Some(body) => {
            assert!(method == Method::GET, "{method} has no body");
            assert!(body.offset.checked_add(body.len).is_some_and(|end| end <= meta.len), "{body:?} of {}", meta.len);
            assert_eq!(header(CONTENT_LENGTH), Some(body.len.to_string()));
            match status {
                StatusCode::OK => assert_eq!((body.offset, body.len), (0, meta.len)),
                StatusCode::PARTIAL_CONTENT => {
                    assert!(body.len > 0);
                    let range = format!("bytes {}-{}/{}", body.offset, body.end() - 1, meta.len);
                    assert_eq!(header(CONTENT_RANGE), Some(range));
                }
                other => panic!("a body with {other}"),
            }
        }
        None => match status {
            StatusCode::OK => {
                assert_eq!((&method, header(CONTENT_LENGTH)), (&Method::HEAD, Some(meta.len.to_string())))
            }
            StatusCode::NOT_MODIFIED => assert_eq!(header(CONTENT_LENGTH), None),
            StatusCode::RANGE_NOT_SATISFIABLE => {
                assert_eq!(header(CONTENT_RANGE), Some(format!("bytes */{}", meta.len)));
                assert_eq!(header(CONTENT_LENGTH).as_deref(), Some("0"));
            }
            StatusCode::PARTIAL_CONTENT => panic!("a 206 without a body"),
            _ => assert_eq!(header(CONTENT_LENGTH).as_deref(), Some("0"), "{status}"),
        },
    }
    if kind != FileKind::File {
        assert!(matches!(status.as_u16(), 301 | 404 | 405), "{kind:?}: {status}");
    }
});
