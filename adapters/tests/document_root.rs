//! `laputa::files::DocumentRoot` over a real directory: files, an index, ranges, conditional
//! requests, and symbolic links that lead out (refused) or stay in (served).

use laputa::files::{DocumentRoot, FileResponse};
use laputa::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// A directory of its own under the system's temp directory, removed on drop:
///
/// ```text
/// site/                 the document root
///   index.html
///   hello.txt           "Hello, Laputa!"
///   digits.bin          "0123456789"
///   sub/index.html, sub/page.css
///   noindex/            a directory without index.html
///   (unix) in.txt -> hello.txt, indir -> sub, out.txt -> ../outside/secret.txt,
///          outdir -> <absolute>/outside, loop -> loop, sock (a Unix socket)
/// outside/secret.txt    beside the root, never served
/// ```
struct Site {
    base: PathBuf,
}

impl Site {
    fn new() -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let base = std::env::temp_dir().join(format!("laputa-document-root-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&base);
        let site = base.join("site");
        fs::create_dir_all(site.join("sub")).unwrap();
        fs::create_dir_all(site.join("noindex")).unwrap();
        fs::create_dir_all(base.join("outside")).unwrap();
        fs::write(site.join("index.html"), "<h1>root</h1>").unwrap();
        fs::write(site.join("hello.txt"), "Hello, Laputa!").unwrap();
        fs::write(site.join("digits.bin"), "0123456789").unwrap();
        fs::write(site.join("sub/index.html"), "<h1>sub</h1>").unwrap();
        fs::write(site.join("sub/page.css"), "h1 { color: red }").unwrap();
        fs::write(base.join("outside/secret.txt"), "the secret").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::symlink;
            symlink("hello.txt", site.join("in.txt")).unwrap();
            symlink("sub", site.join("indir")).unwrap();
            symlink("../outside/secret.txt", site.join("out.txt")).unwrap();
            symlink(base.join("outside"), site.join("outdir")).unwrap();
            symlink("loop", site.join("loop")).unwrap();
            std::os::unix::net::UnixListener::bind(site.join("sock")).unwrap();
        }
        Self { base }
    }

    fn root(&self) -> DocumentRoot {
        DocumentRoot::new(self.base.join("site")).unwrap()
    }
}

impl Drop for Site {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.base);
    }
}

fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for &(name, value) in pairs {
        map.append(name, HeaderValue::from_str(value).unwrap());
    }
    map
}

fn get(root: &DocumentRoot, path: &str) -> FileResponse {
    root.open(path, &Method::GET, &HeaderMap::new()).unwrap()
}

/// Status and body as sent.
fn read(response: FileResponse) -> (StatusCode, String) {
    let (answer, body) = response.into_parts();
    let mut text = String::new();
    if let Some(mut body) = body {
        body.read_to_string(&mut text).unwrap();
    }
    if answer.status() != StatusCode::NOT_MODIFIED {
        let length = answer.headers()[header::CONTENT_LENGTH].to_str().unwrap();
        assert_eq!(length, text.len().to_string(), "Content-Length is what is sent");
    }
    (answer.status(), text)
}

#[test]
fn files_and_indexes() {
    let site = Site::new();
    let root = site.root();
    let table = [
        ("/hello.txt", 200, "Hello, Laputa!"),
        ("/", 200, "<h1>root</h1>"),
        ("/index.html", 200, "<h1>root</h1>"),
        ("/sub/", 200, "<h1>sub</h1>"),
        ("/sub/page.css", 200, "h1 { color: red }"),
        ("/%73ub/page.css?v=2", 200, "h1 { color: red }"),
        ("/missing.txt", 404, ""),
        ("/sub/missing/", 404, ""),
        ("/noindex/", 404, ""),
        ("/hello.txt/", 404, ""),
        ("/hello.txt/x", 404, ""),
    ];
    for (path, status, body) in table {
        assert_eq!(read(get(&root, path)), (StatusCode::from_u16(status).unwrap(), body.to_owned()), "{path}");
    }
    let response = get(&root, "/sub/page.css");
    assert_eq!(response.answer().headers()[header::CONTENT_TYPE], "text/css; charset=utf-8");
    assert!(response.answer().headers().contains_key(header::ETAG));
    assert!(response.answer().headers().contains_key(header::LAST_MODIFIED));
}

#[test]
fn directories_are_redirected_to_their_slash() {
    let site = Site::new();
    let root = site.root();
    for (path, location) in [("/sub", "/sub/"), ("/noindex?a=1", "/noindex/?a=1")] {
        let response = get(&root, path);
        assert_eq!(response.answer().status(), StatusCode::MOVED_PERMANENTLY, "{path}");
        assert_eq!(response.answer().headers()[header::LOCATION], location);
        assert_eq!(read(response).1, "");
    }
}

#[test]
fn hostile_paths_are_refused() {
    let site = Site::new();
    let root = site.root();
    let table = [
        ("/../outside/secret.txt", 404),
        ("/sub/../../outside/secret.txt", 404),
        ("/%2e%2e/outside/secret.txt", 404),
        ("/.%2E/outside/secret.txt", 404),
        ("/..%2foutside%2fsecret.txt", 404),
        ("/..%5coutside%5csecret.txt", 404),
        ("/..\\outside\\secret.txt", 404),
        ("/hello.txt%00.png", 404),
        ("//etc/passwd", 404),
        ("/C:/Windows/win.ini", 404),
        ("/%C0%AE%C0%AE/outside/secret.txt", 400),
        ("/%", 400),
        ("*", 400),
    ];
    for (path, status) in table {
        let (got, body) = read(get(&root, path));
        assert_eq!(got.as_u16(), status, "{path}");
        assert_eq!(body, "", "{path}");
    }
    let absolute = site.base.join("outside/secret.txt");
    let (got, _) = read(get(&root, &absolute.to_string_lossy()));
    assert_eq!(got, StatusCode::NOT_FOUND, "an absolute path is one under the root");
}

#[cfg(unix)]
#[test]
fn hidden_files_are_refused_unless_the_root_serves_them() {
    let site = Site::new();
    let dir = site.base.join("site");
    fs::create_dir_all(dir.join(".git")).unwrap();
    fs::create_dir_all(dir.join(".well-known/acme-challenge")).unwrap();
    fs::write(dir.join(".env"), "PASSWORD=hunter2").unwrap();
    fs::write(dir.join(".git/config"), "[core]").unwrap();
    fs::write(dir.join(".well-known/acme-challenge/token"), "proof").unwrap();
    let root = DocumentRoot::new(&dir).unwrap();
    for path in ["/.env", "/%2Eenv", "/.git/config", "/.git/"] {
        assert_eq!(read(get(&root, path)), (StatusCode::NOT_FOUND, String::new()), "{path}");
    }
    assert_eq!(read(get(&root, "/.well-known/acme-challenge/token")), (StatusCode::OK, "proof".to_owned()));
    let open = root.serve_hidden(true);
    assert_eq!(read(get(&open, "/.env")), (StatusCode::OK, "PASSWORD=hunter2".to_owned()));
    assert_eq!(read(get(&open, "/.git/config")), (StatusCode::OK, "[core]".to_owned()));
}

#[test]
fn symbolic_links_that_stay_in_are_served() {
    let site = Site::new();
    let root = site.root();
    assert_eq!(read(get(&root, "/in.txt")), (StatusCode::OK, "Hello, Laputa!".to_owned()));
    assert_eq!(read(get(&root, "/indir/")), (StatusCode::OK, "<h1>sub</h1>".to_owned()));
    assert_eq!(read(get(&root, "/indir/page.css")).0, StatusCode::OK);
    assert_eq!(get(&root, "/indir").answer().headers()[header::LOCATION], "/indir/");
    // The content type is the requested name's, not the target's.
    assert_eq!(get(&root, "/in.txt").answer().headers()[header::CONTENT_TYPE], "text/plain; charset=utf-8");
}

#[cfg(unix)]
#[test]
fn symbolic_links_that_lead_out_are_refused() {
    let site = Site::new();
    let root = site.root();
    for path in ["/out.txt", "/outdir/secret.txt", "/outdir/", "/outdir"] {
        for method in [Method::GET, Method::HEAD, Method::POST] {
            let response = root.open(path, &method, &HeaderMap::new()).unwrap();
            assert_eq!(read(response), (StatusCode::NOT_FOUND, String::new()), "{method} {path}");
        }
    }
    // Through the root's own path, as a symbolic link: still the same root.
    let link = site.base.join("link-to-site");
    std::os::unix::fs::symlink(site.base.join("site"), &link).unwrap();
    let through_link = DocumentRoot::new(&link).unwrap();
    assert_eq!(through_link.path(), root.path());
    assert_eq!(read(get(&through_link, "/out.txt")).0, StatusCode::NOT_FOUND);
    assert_eq!(read(get(&through_link, "/hello.txt")).0, StatusCode::OK);
}

/// A symbolic link below a real directory is found as well as one at the top: the lookup checks
/// every component under the root, not only the first or the last.
#[cfg(unix)]
#[test]
fn symbolic_links_deeper_down_are_judged_too() {
    let site = Site::new();
    let root = site.root();
    let sub = site.base.join("site/sub");
    std::os::unix::fs::symlink("../hello.txt", sub.join("back.txt")).unwrap();
    std::os::unix::fs::symlink("../../outside", sub.join("escape")).unwrap();
    assert_eq!(read(get(&root, "/sub/back.txt")), (StatusCode::OK, "Hello, Laputa!".to_owned()));
    assert_eq!(read(get(&root, "/sub/escape/secret.txt")), (StatusCode::NOT_FOUND, String::new()));
    assert_eq!(read(get(&root, "/sub/escape/")), (StatusCode::NOT_FOUND, String::new()));
}

#[cfg(unix)]
#[test]
fn loops_and_special_files() {
    let site = Site::new();
    let root = site.root();
    // A symbolic link loop is the server's misconfiguration: an error (500), not a 404.
    assert!(root.open("/loop", &Method::GET, &HeaderMap::new()).is_err());
    // A socket is never opened or served.
    assert_eq!(read(get(&root, "/sock")), (StatusCode::NOT_FOUND, String::new()));
    // Nor a FIFO, which would block the open (made when `mkfifo` is there).
    let made = std::process::Command::new("mkfifo").arg(site.base.join("site/fifo")).status();
    if made.is_ok_and(|status| status.success()) {
        assert_eq!(read(get(&root, "/fifo")), (StatusCode::NOT_FOUND, String::new()));
    }
}

#[test]
fn ranges_are_read_from_the_file() {
    let site = Site::new();
    let root = site.root();
    let table = [
        ("bytes=0-3", 206, "0123", Some("bytes 0-3/10")),
        ("bytes=7-", 206, "789", Some("bytes 7-9/10")),
        ("bytes=-2", 206, "89", Some("bytes 8-9/10")),
        ("bytes=5-5", 206, "5", Some("bytes 5-5/10")),
        ("bytes=3-100", 206, "3456789", Some("bytes 3-9/10")),
        ("bytes=10-", 416, "", Some("bytes */10")),
        ("bytes=0-1,4-5", 200, "0123456789", None),
    ];
    for (range, status, body, content_range) in table {
        let response = root.open("/digits.bin", &Method::GET, &headers(&[("range", range)])).unwrap();
        let got_range = response.answer().headers().get(header::CONTENT_RANGE).map(|v| v.to_str().unwrap().to_owned());
        assert_eq!(got_range.as_deref(), content_range, "{range}");
        assert_eq!(read(response), (StatusCode::from_u16(status).unwrap(), body.to_owned()), "{range}");
    }
}

#[test]
fn conditional_requests_and_head() {
    let site = Site::new();
    let root = site.root();
    let first = get(&root, "/hello.txt");
    let etag = first.answer().headers()[header::ETAG].to_str().unwrap().to_owned();
    let modified = first.answer().headers()[header::LAST_MODIFIED].to_str().unwrap().to_owned();
    let table = [
        (vec![("if-none-match", etag.as_str())], 304, ""),
        (vec![("if-modified-since", modified.as_str())], 304, ""),
        (vec![("if-none-match", "\"other\""), ("if-modified-since", modified.as_str())], 200, "Hello, Laputa!"),
        (vec![("if-match", "\"other\"")], 412, ""),
        (vec![("range", "bytes=0-4"), ("if-range", etag.as_str())], 206, "Hello"),
        (vec![("range", "bytes=0-4"), ("if-range", "\"stale\"")], 200, "Hello, Laputa!"),
    ];
    for (pairs, status, body) in table {
        let response = root.open("/hello.txt", &Method::GET, &headers(&pairs)).unwrap();
        assert_eq!(read(response), (StatusCode::from_u16(status).unwrap(), body.to_owned()), "{pairs:?}");
    }

    // HEAD: the headers of GET, no file.
    let head = root.open("/hello.txt", &Method::HEAD, &HeaderMap::new()).unwrap();
    assert_eq!(head.answer().headers(), first.answer().headers());
    let (answer, body) = head.into_parts();
    assert_eq!(answer.status(), StatusCode::OK);
    assert!(body.is_none());

    // A file rewritten (another length): the old tag no longer matches.
    fs::write(site.base.join("site/hello.txt"), "Hello again, Laputa!").unwrap();
    let response = root.open("/hello.txt", &Method::GET, &headers(&[("if-none-match", &etag)])).unwrap();
    assert_eq!(read(response), (StatusCode::OK, "Hello again, Laputa!".to_owned()));
}

#[test]
fn other_methods() {
    let site = Site::new();
    let root = site.root();
    for method in [Method::POST, Method::PUT, Method::DELETE, Method::OPTIONS] {
        let response = root.open("/hello.txt", &method, &HeaderMap::new()).unwrap();
        assert_eq!(response.answer().headers()[header::ALLOW], "GET, HEAD");
        assert_eq!(read(response), (StatusCode::METHOD_NOT_ALLOWED, String::new()), "{method}");
    }
}

#[test]
fn a_root_must_be_a_directory() {
    let site = Site::new();
    let error = DocumentRoot::new(site.base.join("site/hello.txt")).unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::NotADirectory);
    let error = DocumentRoot::new(site.base.join("nowhere")).unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::NotFound);
    assert!(Path::new(site.root().path()).is_absolute());
}
