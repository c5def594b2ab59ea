//! Every rule of the document root, table by table.

use super::*;
use http::header::{self, HeaderName};
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

#[test]
fn accepted_paths() {
    let table: &[(&str, &[&str], bool, &str)] = &[
        ("/", &[], true, "index.html"),
        ("/a.txt", &["a.txt"], false, "a.txt"),
        ("/docs/", &["docs"], true, "docs/index.html"),
        ("/a/b/c.css", &["a", "b", "c.css"], false, "a/b/c.css"),
        ("/a%20b", &["a b"], false, "a b"),
        ("/caf%C3%A9", &["caf\u{e9}"], false, "caf\u{e9}"),
        ("/caf\u{e9}", &["caf\u{e9}"], false, "caf\u{e9}"),
        ("/%41%62c", &["Abc"], false, "Abc"),
        // Decoded once: `%252e%252e` is the file named `%2e%2e`.
        ("/%252e%252e/x", &["%2e%2e", "x"], false, "%2e%2e/x"),
        ("/.hidden", &[".hidden"], false, ".hidden"),
        ("/a..b", &["a..b"], false, "a..b"),
        ("/..a", &["..a"], false, "..a"),
        ("/a?x=1&y=/../", &["a"], false, "a"),
        ("/?x", &[], true, "index.html"),
        ("/console.log", &["console.log"], false, "console.log"),
        ("/COM10", &["COM10"], false, "COM10"),
        ("/x%3Fy", &["x?y"], false, "x?y"),
    ];
    for &(input, segments, directory, file) in table {
        let path = resolve(input).unwrap_or_else(|e| panic!("{input}: {e}"));
        assert_eq!(path.segments(), segments, "{input}");
        assert_eq!(path.is_directory(), directory, "{input}");
        assert_eq!(path.file(), std::path::Path::new(file), "{input}");
    }
}

#[test]
fn refused_paths() {
    use Refusal::*;
    let long_segment = format!("/{}", "a".repeat(MAX_SEGMENT_LEN + 1));
    let long_path = "/abcdefghi".repeat(MAX_PATH_LEN / 10 + 1);
    let table: &[(&str, Refusal)] = &[
        ("", NotAPath),
        ("*", NotAPath),
        ("a/b", NotAPath),
        ("http://example.com/a", NotAPath),
        ("/%", BadEscape),
        ("/%4", BadEscape),
        ("/%zz", BadEscape),
        ("/a%g0", BadEscape),
        ("/%C0%AE%C0%AE/etc", NotUtf8),
        ("/%FF", NotUtf8),
        ("/%C3", NotUtf8),
        ("/a\0b", RawControl),
        ("/a\nb", RawControl),
        ("/a\rb", RawControl),
        ("/a\tb", RawControl),
        ("/a#b", RawControl),
        ("/..", DotSegment),
        ("/../etc/passwd", DotSegment),
        ("/a/../../etc/passwd", DotSegment),
        ("/a/..", DotSegment),
        ("/a/../", DotSegment),
        ("/.", DotSegment),
        ("/./a", DotSegment),
        ("/...", DotSegment),
        ("/%2e%2e/etc/passwd", DotSegment),
        ("/%2E%2E/etc/passwd", DotSegment),
        ("/.%2E/etc/passwd", DotSegment),
        ("/%2e./etc/passwd", DotSegment),
        ("/%2e", DotSegment),
        ("/%2f", EncodedSeparator),
        ("/a%2Fb", EncodedSeparator),
        ("/..%2f..%2fetc%2fpasswd", EncodedSeparator),
        ("/%2e%2e%2f", EncodedSeparator),
        ("/a%5cb", EncodedSeparator),
        ("/..%5C..%5Cwindows", EncodedSeparator),
        ("/a\\b", Backslash),
        ("/..\\..\\windows", Backslash),
        ("/\\\\server\\share", Backslash),
        ("/a%00.txt", Control),
        ("/a%00", Control),
        ("/%0a", Control),
        ("/%0D%0ASet-Cookie:x", Control),
        ("/%7f", Control),
        ("/%C2%85", Control),
        ("//", EmptySegment),
        ("//etc/passwd", EmptySegment),
        ("//evil.example/", EmptySegment),
        ("/a//b", EmptySegment),
        ("/a//", EmptySegment),
        ("/C:", Colon),
        ("/C:/Windows/win.ini", Colon),
        ("/c%3A/x", Colon),
        ("/a.txt::$DATA", Colon),
        ("/CON", DeviceName),
        ("/con.txt", DeviceName),
        ("/a/Nul", DeviceName),
        ("/aux.tar.gz", DeviceName),
        ("/COM1", DeviceName),
        ("/lpt9.log", DeviceName),
        ("/COM%C2%B9", DeviceName),
        ("/CONIN$", DeviceName),
        (&long_segment, TooLong),
        (&long_path, TooLong),
    ];
    for &(input, refusal) in table {
        assert_eq!(resolve(input), Err(refusal), "{input:?}");
    }
    // Statuses: malformed targets are 400, the rest 404.
    for (refusal, status) in [(NotAPath, 400), (BadEscape, 400), (NotUtf8, 400), (RawControl, 400)] {
        assert_eq!(refusal.status().as_u16(), status);
    }
    for refusal in [DotSegment, EncodedSeparator, Backslash, Control, EmptySegment, Colon, DeviceName, TooLong] {
        assert_eq!(refusal.status(), StatusCode::NOT_FOUND);
        assert_eq!(FileAnswer::refused(refusal).status(), StatusCode::NOT_FOUND);
    }
}

#[test]
fn longest_accepted() {
    let segment = "a".repeat(MAX_SEGMENT_LEN);
    assert_eq!(resolve(&format!("/{segment}")).unwrap().segments(), [segment.as_str()]);
    // Encoded bytes count once decoded.
    let encoded = "%61".repeat(MAX_SEGMENT_LEN);
    assert_eq!(resolve(&format!("/{encoded}")).unwrap().segments(), [segment.as_str()]);
    let path = "/abcdefghi".repeat(MAX_PATH_LEN / 10);
    assert!(resolve(&path).is_ok());
}

#[test]
fn directory_locations() {
    let table = [
        ("/docs", "/docs/"),
        ("/a/b", "/a/b/"),
        ("/caf%C3%A9", "/caf%C3%A9/"),
        ("/a%20b", "/a%20b/"),
        ("/x%3Fy?q=1", "/x%3Fy/?q=1"),
        ("/a%25b", "/a%25b/"),
        ("/docs?q=%0d%0a", "/docs/?q=%0d%0a"),
        ("/docs?a b", "/docs/"),
        ("/docs?\u{e9}", "/docs/"),
        ("/", "/"),
    ];
    for (input, location) in table {
        assert_eq!(resolve(input).unwrap().directory_location(), location, "{input}");
    }
}

#[test]
fn symbolic_links_inside_or_out() {
    use std::path::Path;
    let root = Path::new("/srv/www");
    let table = [
        ("/srv/www", true),
        ("/srv/www/", true),
        ("/srv/www/index.html", true),
        ("/srv/www/a/b/c", true),
        ("/srv/www2/x", false),
        ("/srv/wwwx", false),
        ("/srv", false),
        ("/", false),
        ("/etc/passwd", false),
        ("/srv/www/../../etc/passwd", false),
        // `Path` drops a `.` in the middle: the same path.
        ("/srv/www/./a", true),
        ("srv/www/a", false),
    ];
    for (target, inside) in table {
        assert_eq!(is_inside(root, Path::new(target)), inside, "{target}");
    }
    assert!(!is_inside(Path::new("srv/www"), Path::new("srv/www/a")));
    assert!(!is_inside(Path::new("/srv/www/.."), Path::new("/srv/www/../etc")));
}

const MTIME: u64 = 1_700_000_000;
const ETAG: &str = "\"3e8-6553f100.0\"";
const DATE: &str = "Tue, 14 Nov 2023 22:13:20 GMT";
const EARLIER: &str = "Tue, 14 Nov 2023 22:13:19 GMT";
const LATER: &str = "Tue, 14 Nov 2023 22:13:21 GMT";

fn modified() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(MTIME)
}

fn meta() -> FileMeta {
    FileMeta::file(1000, Some(modified()))
}

fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for &(name, value) in pairs {
        map.append(HeaderName::from_bytes(name.as_bytes()).unwrap(), HeaderValue::from_str(value).unwrap());
    }
    map
}

fn get(path: &str, pairs: &[(&str, &str)], meta: &FileMeta) -> FileAnswer {
    respond(&Method::GET, &headers(pairs), &resolve(path).unwrap(), meta)
}

fn header<'a>(answer: &'a FileAnswer, name: &str) -> Option<&'a str> {
    answer.headers().get(name).map(|v| v.to_str().unwrap())
}

#[test]
fn a_whole_file() {
    let answer = get("/a.html", &[], &meta());
    assert_eq!(answer.status(), StatusCode::OK);
    assert_eq!(answer.body(), Some(ByteRange { offset: 0, len: 1000 }));
    assert_eq!(header(&answer, "content-length"), Some("1000"));
    assert_eq!(header(&answer, "content-type"), Some("text/html; charset=utf-8"));
    assert_eq!(header(&answer, "etag"), Some(ETAG));
    assert_eq!(header(&answer, "last-modified"), Some(DATE));
    assert_eq!(header(&answer, "accept-ranges"), Some("bytes"));
    assert_eq!(header(&answer, "x-content-type-options"), Some("nosniff"));
    assert_eq!(answer.headers().len(), 6);
}

#[test]
fn an_empty_file() {
    let answer = get("/empty.txt", &[], &FileMeta::file(0, None));
    assert_eq!(answer.status(), StatusCode::OK);
    assert_eq!(answer.body(), Some(ByteRange { offset: 0, len: 0 }));
    assert_eq!(header(&answer, "content-length"), Some("0"));
    assert_eq!(header(&answer, "etag"), None);
    assert_eq!(header(&answer, "last-modified"), None);
}

#[test]
fn head_has_the_headers_of_get_and_no_body() {
    for pairs in [&[][..], &[("range", "bytes=0-9")][..]] {
        let answer = respond(&Method::HEAD, &headers(pairs), &resolve("/a.html").unwrap(), &meta());
        let whole = get("/a.html", &[], &meta());
        assert_eq!(answer.status(), StatusCode::OK);
        assert_eq!(answer.headers(), whole.headers());
        assert_eq!(answer.body(), None);
    }
}

#[test]
fn content_types() {
    let table = [
        ("/index.html", "text/html; charset=utf-8"),
        ("/", "text/html; charset=utf-8"),
        ("/a/", "text/html; charset=utf-8"),
        ("/style.CSS", "text/css; charset=utf-8"),
        ("/app.js", "text/javascript; charset=utf-8"),
        ("/app.mjs", "application/javascript; charset=utf-8"),
        ("/notes.txt", "text/plain; charset=utf-8"),
        ("/data.json", "application/json"),
        ("/logo.png", "image/png"),
        ("/logo.svg", "image/svg+xml"),
        ("/module.wasm", "application/wasm"),
        ("/archive.tar.gz", "application/gzip"),
        ("/Makefile", "application/octet-stream"),
        ("/x.unknownext", "application/octet-stream"),
    ];
    for (path, content_type) in table {
        assert_eq!(header(&get(path, &[], &meta()), "content-type"), Some(content_type), "{path}");
    }
}

#[test]
fn methods_other_than_get_and_head() {
    for method in [Method::POST, Method::PUT, Method::DELETE, Method::OPTIONS, Method::PATCH, Method::TRACE] {
        let answer = respond(&method, &HeaderMap::new(), &resolve("/a.txt").unwrap(), &meta());
        assert_eq!(answer.status(), StatusCode::METHOD_NOT_ALLOWED, "{method}");
        assert_eq!(header(&answer, "allow"), Some("GET, HEAD"));
        assert_eq!(header(&answer, "content-length"), Some("0"));
        assert_eq!(answer.body(), None);
    }
}

#[test]
fn directories_and_other_kinds() {
    // A directory without its `/`: redirected, for every method that reads.
    for method in [Method::GET, Method::HEAD] {
        let answer = respond(&method, &HeaderMap::new(), &resolve("/docs?x=1").unwrap(), &FileMeta::directory());
        assert_eq!(answer.status(), StatusCode::MOVED_PERMANENTLY);
        assert_eq!(header(&answer, "location"), Some("/docs/?x=1"));
        assert_eq!(header(&answer, "content-length"), Some("0"));
        assert_eq!(answer.body(), None);
    }
    // `index.html` that is itself a directory, or a FIFO, socket, device: not found.
    assert_eq!(get("/docs/", &[], &FileMeta::directory()).status(), StatusCode::NOT_FOUND);
    let other = FileMeta { len: 0, modified: None, kind: FileKind::Other };
    assert_eq!(get("/fifo", &[], &other).status(), StatusCode::NOT_FOUND);
    assert_eq!(get("/docs/", &[], &other).status(), StatusCode::NOT_FOUND);
    let answer = respond(&Method::POST, &HeaderMap::new(), &resolve("/fifo").unwrap(), &other);
    assert_eq!(answer.status(), StatusCode::NOT_FOUND);
    // The index of a directory.
    let answer = get("/docs/", &[], &meta());
    assert_eq!(answer.status(), StatusCode::OK);
    assert_eq!(header(&answer, "content-type"), Some("text/html; charset=utf-8"));
}

#[test]
fn lookup_errors() {
    use std::io::{Error, ErrorKind};
    for kind in [ErrorKind::NotFound, ErrorKind::NotADirectory, ErrorKind::PermissionDenied] {
        let answer = FileAnswer::from_lookup_error(&Error::from(kind)).expect("a 404");
        assert_eq!(answer, FileAnswer::not_found());
    }
    for kind in [ErrorKind::Other, ErrorKind::Interrupted, ErrorKind::OutOfMemory, ErrorKind::InvalidData] {
        assert_eq!(FileAnswer::from_lookup_error(&Error::from(kind)), None, "{kind:?}");
    }
}

/// Conditional requests: (request headers, status). Our tag is `ETAG`, modified at `DATE`.
#[test]
fn conditional_requests() {
    let weak = format!("W/{ETAG}");
    let other = "\"other\"";
    let both = format!("{other}, {ETAG}");
    let table: &[(&[(&str, &str)], u16)] = &[
        (&[("if-none-match", ETAG)], 304),
        (&[("if-none-match", &weak)], 304),
        (&[("if-none-match", "*")], 304),
        (&[("if-none-match", &both)], 304),
        (&[("if-none-match", other), ("if-none-match", ETAG)], 304),
        (&[("if-none-match", other)], 200),
        (&[("if-none-match", "garbage")], 200),
        (&[("if-none-match", "\"3e8-6553f100.0")], 200),
        (&[("if-modified-since", DATE)], 304),
        (&[("if-modified-since", LATER)], 304),
        (&[("if-modified-since", EARLIER)], 200),
        (&[("if-modified-since", "Tuesday, 14-Nov-23 22:13:20 GMT")], 304),
        (&[("if-modified-since", "Tue Nov 14 22:13:20 2023")], 304),
        (&[("if-modified-since", "yesterday")], 200),
        (&[("if-modified-since", DATE), ("if-modified-since", DATE)], 200),
        // If-None-Match takes precedence over If-Modified-Since.
        (&[("if-none-match", other), ("if-modified-since", LATER)], 200),
        (&[("if-none-match", ETAG), ("if-modified-since", EARLIER)], 304),
        // If-Match (strong) and If-Unmodified-Since: 412 when they fail.
        (&[("if-match", ETAG)], 200),
        (&[("if-match", "*")], 200),
        (&[("if-match", &both)], 200),
        (&[("if-match", &weak)], 412),
        (&[("if-match", other)], 412),
        (&[("if-match", "garbage")], 412),
        (&[("if-unmodified-since", DATE)], 200),
        (&[("if-unmodified-since", LATER)], 200),
        (&[("if-unmodified-since", EARLIER)], 412),
        (&[("if-unmodified-since", "garbage")], 200),
        (&[("if-match", ETAG), ("if-unmodified-since", EARLIER)], 200),
        (&[("if-match", other), ("if-none-match", ETAG)], 412),
        (&[("if-unmodified-since", EARLIER), ("if-none-match", ETAG)], 412),
    ];
    for &(pairs, status) in table {
        let answer = get("/a.txt", pairs, &meta());
        assert_eq!(answer.status().as_u16(), status, "{pairs:?}");
        match status {
            304 => {
                assert_eq!(answer.body(), None);
                assert_eq!(header(&answer, "etag"), Some(ETAG));
                assert_eq!(header(&answer, "last-modified"), Some(DATE));
                assert_eq!(header(&answer, "content-length"), None);
                assert_eq!(header(&answer, "content-type"), None);
            }
            412 => {
                assert_eq!(answer.body(), None);
                assert_eq!(header(&answer, "content-length"), Some("0"));
            }
            _ => assert_eq!(answer.body(), Some(ByteRange { offset: 0, len: 1000 })),
        }
        // HEAD answers the same.
        let head = respond(&Method::HEAD, &headers(pairs), &resolve("/a.txt").unwrap(), &meta());
        assert_eq!(head.status().as_u16(), status, "HEAD {pairs:?}");
    }
}

#[test]
fn conditions_without_a_modification_time() {
    let unknown = FileMeta::file(1000, None);
    let before_1970 = FileMeta::file(1000, Some(UNIX_EPOCH - Duration::from_secs(10)));
    let after_9999 = FileMeta::file(1000, Some(UNIX_EPOCH + Duration::from_secs(300_000_000_000)));
    for meta in [unknown, before_1970, after_9999] {
        let table: &[(&[(&str, &str)], u16)] = &[
            (&[], 200),
            (&[("if-none-match", ETAG)], 200),
            (&[("if-none-match", "*")], 304),
            (&[("if-modified-since", LATER)], 200),
            (&[("if-match", ETAG)], 412),
            (&[("if-match", "*")], 200),
            (&[("if-unmodified-since", EARLIER)], 200),
            (&[("range", "bytes=0-0"), ("if-range", DATE)], 200),
            (&[("range", "bytes=0-0")], 206),
        ];
        for &(pairs, status) in table {
            let answer = get("/a.txt", pairs, &meta);
            assert_eq!(answer.status().as_u16(), status, "{meta:?} {pairs:?}");
            assert_eq!(header(&answer, "etag"), None);
            assert_eq!(header(&answer, "last-modified"), None);
        }
    }
}

#[test]
fn sub_second_changes_change_the_tag() {
    let later = FileMeta::file(1000, Some(modified() + Duration::from_nanos(1)));
    let answer = get("/a.txt", &[("if-none-match", ETAG)], &later);
    assert_eq!(answer.status(), StatusCode::OK);
    assert_eq!(header(&answer, "etag"), Some("\"3e8-6553f100.1\""));
    assert_eq!(header(&answer, "last-modified"), Some(DATE));
    let shorter = FileMeta::file(999, Some(modified()));
    assert_eq!(get("/a.txt", &[("if-none-match", ETAG)], &shorter).status(), StatusCode::OK);
}

/// Range, status, body (offset, len), Content-Range.
type RangeCase = (&'static str, u16, Option<(u64, u64)>, Option<&'static str>);

/// Ranges of a file of 1000 bytes.
#[test]
fn byte_ranges() {
    let table: &[RangeCase] = &[
        ("bytes=0-99", 206, Some((0, 100)), Some("bytes 0-99/1000")),
        ("bytes=100-199", 206, Some((100, 100)), Some("bytes 100-199/1000")),
        ("bytes=999-999", 206, Some((999, 1)), Some("bytes 999-999/1000")),
        ("bytes=0-", 206, Some((0, 1000)), Some("bytes 0-999/1000")),
        ("bytes=500-", 206, Some((500, 500)), Some("bytes 500-999/1000")),
        ("bytes=-1", 206, Some((999, 1)), Some("bytes 999-999/1000")),
        ("bytes=-100", 206, Some((900, 100)), Some("bytes 900-999/1000")),
        ("bytes=-1000", 206, Some((0, 1000)), Some("bytes 0-999/1000")),
        ("bytes=-5000", 206, Some((0, 1000)), Some("bytes 0-999/1000")),
        ("bytes=900-5000", 206, Some((900, 100)), Some("bytes 900-999/1000")),
        ("bytes=0-99999999999999999999999", 206, Some((0, 1000)), Some("bytes 0-999/1000")),
        ("bytes=-99999999999999999999999", 206, Some((0, 1000)), Some("bytes 0-999/1000")),
        ("BYTES=0-0", 206, Some((0, 1)), Some("bytes 0-0/1000")),
        ("bytes= 1-2 ", 206, Some((1, 2)), Some("bytes 1-2/1000")),
        ("bytes=1000-", 416, None, Some("bytes */1000")),
        ("bytes=1000-2000", 416, None, Some("bytes */1000")),
        ("bytes=99999999999999999999999-", 416, None, Some("bytes */1000")),
        ("bytes=-0", 416, None, Some("bytes */1000")),
        // Ignored: the whole file.
        ("bytes=0-1,5-6", 200, Some((0, 1000)), None),
        ("bytes=0-1,", 200, Some((0, 1000)), None),
        ("bytes=2000-3000,0-1", 200, Some((0, 1000)), None),
        ("bytes=5-4", 200, Some((0, 1000)), None),
        ("bytes=-", 200, Some((0, 1000)), None),
        ("bytes=", 200, Some((0, 1000)), None),
        ("bytes=a-b", 200, Some((0, 1000)), None),
        ("bytes=+1-2", 200, Some((0, 1000)), None),
        ("bytes=1--2", 200, Some((0, 1000)), None),
        ("bytes=0x10-", 200, Some((0, 1000)), None),
        ("bytes 0-1", 200, Some((0, 1000)), None),
        ("items=0-1", 200, Some((0, 1000)), None),
        ("0-1", 200, Some((0, 1000)), None),
    ];
    for &(range, status, body, content_range) in table {
        let answer = get("/v.mp4", &[("range", range)], &meta());
        assert_eq!(answer.status().as_u16(), status, "{range}");
        assert_eq!(answer.body().map(|b| (b.offset, b.len)), body, "{range}");
        assert_eq!(header(&answer, "content-range"), content_range, "{range}");
        let length = body.map_or(0, |(_, len)| len).to_string();
        assert_eq!(header(&answer, "content-length"), Some(length.as_str()), "{range}");
        if status == 206 {
            assert_eq!(header(&answer, "content-type"), Some("video/mp4"));
            assert_eq!(header(&answer, "etag"), Some(ETAG));
        }
    }
    // Two Range fields: ignored.
    let answer = get("/v.mp4", &[("range", "bytes=0-1"), ("range", "bytes=2-3")], &meta());
    assert_eq!(answer.status(), StatusCode::OK);
}

#[test]
fn ranges_of_an_empty_file() {
    let empty = FileMeta::file(0, Some(modified()));
    for range in ["bytes=0-", "bytes=0-0", "bytes=-1", "bytes=-0"] {
        let answer = get("/e", &[("range", range)], &empty);
        assert_eq!(answer.status(), StatusCode::RANGE_NOT_SATISFIABLE, "{range}");
        assert_eq!(header(&answer, "content-range"), Some("bytes */0"));
    }
}

/// If-Range: the range only when the validator still holds, else the whole file.
#[test]
fn if_range() {
    let weak = format!("W/{ETAG}");
    let table: &[(&[(&str, &str)], u16)] = &[
        (&[("if-range", ETAG)], 206),
        (&[("if-range", DATE)], 206),
        (&[("if-range", &weak)], 200),
        (&[("if-range", "\"other\"")], 200),
        (&[("if-range", EARLIER)], 200),
        (&[("if-range", LATER)], 200),
        (&[("if-range", "garbage")], 200),
        (&[("if-range", ETAG), ("if-range", ETAG)], 200),
        (&[("if-range", &format!("{ETAG}, {ETAG}"))], 200),
    ];
    for &(pairs, status) in table {
        let mut with_range = pairs.to_vec();
        with_range.push(("range", "bytes=0-9"));
        let answer = get("/a.bin", &with_range, &meta());
        assert_eq!(answer.status().as_u16(), status, "{pairs:?}");
        let len = if status == 206 { 10 } else { 1000 };
        assert_eq!(answer.body(), Some(ByteRange { offset: 0, len }), "{pairs:?}");
    }
    // Without Range, If-Range is ignored; an unsatisfiable range under a stale If-Range is the whole file.
    assert_eq!(get("/a.bin", &[("if-range", "\"other\"")], &meta()).status(), StatusCode::OK);
    let answer = get("/a.bin", &[("if-range", "\"other\""), ("range", "bytes=5000-")], &meta());
    assert_eq!(answer.status(), StatusCode::OK);
    let answer = get("/a.bin", &[("if-range", ETAG), ("range", "bytes=5000-")], &meta());
    assert_eq!(answer.status(), StatusCode::RANGE_NOT_SATISFIABLE);
}

#[test]
fn conditions_come_before_ranges() {
    let answer = get("/a.bin", &[("if-none-match", ETAG), ("range", "bytes=0-9")], &meta());
    assert_eq!(answer.status(), StatusCode::NOT_MODIFIED);
    let answer = get("/a.bin", &[("if-match", "\"x\""), ("range", "bytes=0-9")], &meta());
    assert_eq!(answer.status(), StatusCode::PRECONDITION_FAILED);
    let answer = get("/a.bin", &[("if-match", ETAG), ("range", "bytes=0-9")], &meta());
    assert_eq!(answer.status(), StatusCode::PARTIAL_CONTENT);
}

#[test]
fn headers_that_are_not_text_are_ignored() {
    let mut map = HeaderMap::new();
    map.insert(header::RANGE, HeaderValue::from_bytes(b"bytes=0-\xff").unwrap());
    map.insert(header::IF_MODIFIED_SINCE, HeaderValue::from_bytes(b"\xff").unwrap());
    map.insert(header::IF_NONE_MATCH, HeaderValue::from_bytes(b"\"\xff\"").unwrap());
    let answer = respond(&Method::GET, &map, &resolve("/a").unwrap(), &meta());
    assert_eq!(answer.status(), StatusCode::OK);
    assert_eq!(answer.body(), Some(ByteRange { offset: 0, len: 1000 }));
}
