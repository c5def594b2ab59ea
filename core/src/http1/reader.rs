//! Bounded head readers: [`RequestReader`] and [`ResponseReader`], fed bytes as they arrive.

use super::head::{parse_request, parse_response, RequestHead, ResponseHead};
use super::Http1Error;
use http::StatusCode;
use tracing::debug;

/// Bounds on what a head reader buffers. A head over them is an error as soon as it grows past
/// them, before it is complete, so a peer that never ends its head costs at most
/// `max_head_size` bytes.
///
/// ```
/// use laputa_core::http1::{Http1Error, Limits, RequestReader};
///
/// let mut limits = Limits::default();
/// limits.max_head_size = 64;
/// let mut reader = RequestReader::new(limits);
/// assert_eq!(reader.push(b"GET / HTTP/1.1\r\n")?, None);
/// assert_eq!(reader.push(&[b'x'; 64]), Err(Http1Error::HeadTooLarge));
/// # Ok::<(), Http1Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Largest head in bytes, its empty line included (default 16 KiB). For a response it is
    /// the total of the final head and any interim `1xx` heads before it; for a request, the
    /// empty lines skipped before it count too. Over it: [`Http1Error::HeadTooLarge`] (431).
    pub max_head_size: usize,
    /// Most header lines in one head (default 64). Over it: [`Http1Error::HeadTooLarge`] (431).
    pub max_headers: usize,
    /// Longest request line in bytes (default 8 KiB), checked after `max_head_size`. Over it:
    /// [`Http1Error::RequestLineTooLong`] (414). Responses have no such bound but the head's.
    pub max_request_line: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self { max_head_size: 16 << 10, max_headers: 64, max_request_line: 8 << 10 }
    }
}

/// Accumulates one head until its empty line.
///
/// Each call searches only the new bytes (and the 3 buffered bytes before them) for the end of
/// the head, and refuses to hold more than `max` bytes, so total work is linear in the input.
#[derive(Debug)]
pub(super) struct HeadReader {
    buf: Vec<u8>,
    max: usize,
    /// Bytes of empty lines skipped before the head; they count towards `max`.
    skipped: usize,
    /// A CR skipped before the head, whose LF has not arrived yet.
    skipped_cr: bool,
    /// The bound on the first line while it has not ended.
    line_max: Option<usize>,
}

impl HeadReader {
    /// A reader of heads up to `max` bytes.
    pub(super) fn new(max: usize) -> Self {
        Self { buf: Vec::new(), max, skipped: 0, skipped_cr: false, line_max: None }
    }

    /// A reader whose buffer starts with `prefix` (counted in `max`): the trailer section of a
    /// chunked body starts after the CRLF of the last chunk, which a seeded `\r\n` turns into
    /// the search for an ordinary head's end.
    pub(super) fn seeded(prefix: &[u8], max: usize) -> Self {
        Self { buf: prefix.to_vec(), ..Self::new(max) }
    }

    /// Bounds the first line too, until it ends.
    fn with_line_max(mut self, line_max: usize) -> Self {
        self.line_max = Some(line_max);
        self
    }

    /// Adds received bytes. `Ok(Some(n))` when the head is complete: it is [`Self::head`], and
    /// `data[n..]` comes after it. Empty lines before the head are skipped (RFC 9112
    /// section 2.2: "a server that is expecting to receive and parse a request-line SHOULD
    /// ignore at least one empty line (CRLF) received prior to the request-line").
    pub(super) fn push(&mut self, data: &[u8]) -> Result<Option<usize>, Http1Error> {
        let start = if self.buf.is_empty() { self.skip_empty_lines(data)? } else { 0 };
        let data = &data[start..];
        if data.is_empty() {
            return Ok(None);
        }
        let end = self.find_end(data);
        let take = end.unwrap_or(data.len());
        // Room left for the head, in bytes of its buffer.
        let room = self.max - self.skipped;
        let over_head = self.buf.len() + take > room;
        if let Some(line_max) = self.line_max {
            let line_end = data[..take].iter().position(|&b| b == b'\n');
            // Whichever bound the input crosses first decides, whatever the reads were.
            if self.buf.len() + line_end.unwrap_or(take) > line_max && line_max < room {
                return Err(Http1Error::RequestLineTooLong);
            }
            if line_end.is_some() {
                self.line_max = None;
            }
        }
        // A lone LF within the bound refuses the head, whichever read brought it.
        if self.bare_lf(&data[..take]).is_some_and(|at| self.buf.len() + at < room) {
            // RFC 9112 section 2.2 lets a recipient take a lone LF as a line end; refusing it
            // at once (a 400) leaves no room for a reader before us that splits lines
            // differently, and does not wait for a CRLF CRLF that will never come.
            return Err(Http1Error::Malformed("a line of the head ends with LF without CR"));
        }
        if over_head {
            return Err(Http1Error::HeadTooLarge);
        }
        self.buf.extend_from_slice(&data[..take]);
        Ok(end.map(|end| start + end))
    }

    /// Skips CRLF and LF at the start of `data`; how many bytes.
    fn skip_empty_lines(&mut self, data: &[u8]) -> Result<usize, Http1Error> {
        let mut skipped = 0;
        for &byte in data {
            match (self.skipped_cr, byte) {
                (true, b'\n') => self.skipped_cr = false,
                (true, _) => return Err(Http1Error::Malformed("bare CR before the start line")),
                (false, b'\r') => self.skipped_cr = true,
                (false, b'\n') => {}
                (false, _) => break,
            }
            skipped += 1;
            self.skipped += 1;
            if self.skipped > self.max {
                return Err(Http1Error::HeadTooLarge);
            }
        }
        Ok(skipped)
    }

    /// Where in `data`, the next bytes of the head, the first LF that follows anything but a
    /// CR is.
    fn bare_lf(&self, data: &[u8]) -> Option<usize> {
        let mut before = self.buf.last().copied();
        data.iter().position(|&byte| {
            let bare = byte == b'\n' && before != Some(b'\r');
            before = Some(byte);
            bare
        })
    }

    /// Where the first `\r\n\r\n` ends in `data`, counting one that starts in the buffer.
    fn find_end(&self, data: &[u8]) -> Option<usize> {
        let tail = &self.buf[self.buf.len().saturating_sub(3)..];
        let lead = &data[..data.len().min(3)];
        let mut window = [0u8; 6];
        window[..tail.len()].copy_from_slice(tail);
        window[tail.len()..tail.len() + lead.len()].copy_from_slice(lead);
        if let Some(i) = find_terminator(&window[..tail.len() + lead.len()]) {
            return Some(i + 4 - tail.len());
        }
        find_terminator(data).map(|i| i + 4)
    }

    /// The complete head, ending with its empty line (without the empty lines skipped before
    /// it).
    pub(super) fn head(&self) -> &[u8] {
        &self.buf
    }

    /// Everything taken so far: the skipped empty lines and the head.
    fn taken(&self) -> usize {
        self.skipped + self.buf.len()
    }
}

/// Position of the first `\r\n\r\n` in `bytes`.
fn find_terminator(bytes: &[u8]) -> Option<usize> {
    bytes.windows(4).position(|w| w == b"\r\n\r\n")
}

/// Reads request heads, one after another: a server's side of HTTP/1.1.
///
/// [`push`](Self::push) takes bytes as they arrive and yields each complete head with the
/// number of input bytes it used. What follows is the request's body (see
/// [`RequestHead::framing`] and [`BodyDecoder`](super::BodyDecoder)) and then the next request,
/// which goes back into `push`: the reader is ready for it as soon as it yields a head
/// (pipelining, RFC 9112 section 9.3.2).
///
/// Empty lines before a request line are skipped (RFC 9112 section 2.2). The head must end
/// with CRLF CRLF; a head over [`Limits`] fails as soon as it grows past them. After an error
/// every call returns it again.
///
/// ```
/// use laputa_core::http::Method;
/// use laputa_core::http1::{Limits, RequestReader};
///
/// let mut reader = RequestReader::new(Limits::default());
/// // Two pipelined requests, the first split across two reads.
/// assert_eq!(reader.push(b"GET /a HTTP/1.1\r\nHost: h\r\n")?, None);
/// let input = b"\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n";
/// let (first, used) = reader.push(input)?.expect("the first head is complete");
/// assert_eq!(first.target, "/a");
/// let (second, rest) = reader.push(&input[used..])?.expect("the second head is complete");
/// assert_eq!((second.method, second.target.path()), (Method::GET, "/b"));
/// assert_eq!(used + rest, input.len());
/// # Ok::<(), laputa_core::http1::Http1Error>(())
/// ```
#[derive(Debug)]
pub struct RequestReader {
    head: HeadReader,
    limits: Limits,
    failed: Option<Http1Error>,
}

impl RequestReader {
    /// A reader bounded by `limits`.
    ///
    /// ```
    /// use laputa_core::http1::{Limits, RequestReader};
    /// let reader = RequestReader::new(Limits::default());
    /// assert_eq!(reader.buffered(), 0);
    /// ```
    pub fn new(limits: Limits) -> Self {
        Self { head: Self::head_reader(&limits), limits, failed: None }
    }

    fn head_reader(limits: &Limits) -> HeadReader {
        HeadReader::new(limits.max_head_size).with_line_max(limits.max_request_line)
    }

    /// Feeds received bytes. `Ok(None)`: the head is not complete yet (all of `data` was taken).
    /// `Ok(Some((head, n)))`: `data[..n]` completed the head, and `data[n..]` follows it.
    ///
    /// ```
    /// use laputa_core::http1::{Http1Error, Limits, RequestReader};
    ///
    /// let mut reader = RequestReader::new(Limits::default());
    /// let (head, n) = reader.push(b"GET /chat HTTP/1.1\r\nHost: h\r\n\r\n\x81\x80")?.unwrap();
    /// assert_eq!((head.target.path(), n), ("/chat", 31));
    /// // An error is final.
    /// assert!(reader.push(b"GET / HTTP/1.1\r\nBad Header: x\r\n\r\n").is_err());
    /// assert_eq!(reader.push(b"GET / HTTP/1.1\r\n\r\n"), Err(Http1Error::Malformed("malformed HTTP request")));
    /// # Ok::<(), Http1Error>(())
    /// ```
    pub fn push(&mut self, data: &[u8]) -> Result<Option<(RequestHead, usize)>, Http1Error> {
        if let Some(err) = self.failed {
            return Err(err);
        }
        let result = match self.head.push(data) {
            Ok(Some(end)) => parse_request(self.head.head(), self.limits.max_headers).map(|head| Some((head, end))),
            Ok(None) => Ok(None),
            Err(err) => Err(err),
        };
        match &result {
            Ok(Some(_)) => self.head = Self::head_reader(&self.limits),
            Ok(None) => {}
            Err(err) => self.failed = Some(*err),
        }
        result
    }

    /// How many bytes of an incomplete head are held (0 between requests): a connection that
    /// ends with some held ended in the middle of a request.
    ///
    /// ```
    /// use laputa_core::http1::{Limits, RequestReader};
    ///
    /// let mut reader = RequestReader::new(Limits::default());
    /// reader.push(b"GET / HT")?;
    /// assert_eq!(reader.buffered(), 8);
    /// # Ok::<(), laputa_core::http1::Http1Error>(())
    /// ```
    pub fn buffered(&self) -> usize {
        self.head.head().len()
    }
}

/// Reads response heads: a client's side of HTTP/1.1.
///
/// [`push`](Self::push) takes bytes as they arrive and yields the final head of a response with
/// the number of input bytes it used. Interim `1xx` responses before it are read and skipped
/// (RFC 9110 section 15.2: "A client MUST be able to parse one or more 1xx responses received
/// prior to a final response, even if the client does not expect one"), except `101 Switching
/// Protocols`, which is final here (the WebSocket handshake waits for it). All the heads of one
/// response together are bounded by [`Limits::max_head_size`], so a flood of `1xx` fails as a
/// head that is too large.
///
/// What follows the head is the body (see [`ResponseHead::framing`] and
/// [`BodyDecoder`](super::BodyDecoder)); on a persistent connection the next response goes back
/// into `push`. After an error every call returns it again.
///
/// ```
/// use laputa_core::http::StatusCode;
/// use laputa_core::http1::{Limits, ResponseReader};
///
/// let mut reader = ResponseReader::new(Limits::default());
/// let input = b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n\
///     HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x00";
/// let (head, used) = reader.push(input)?.expect("a final head");
/// assert_eq!(head.status, StatusCode::SWITCHING_PROTOCOLS);
/// assert_eq!(&input[used..], b"\x81\x00");
/// # Ok::<(), laputa_core::http1::Http1Error>(())
/// ```
#[derive(Debug)]
pub struct ResponseReader {
    head: HeadReader,
    limits: Limits,
    /// Bytes of the interim heads of the current response.
    interim: usize,
    failed: Option<Http1Error>,
}

impl ResponseReader {
    /// A reader bounded by `limits`.
    ///
    /// ```
    /// use laputa_core::http1::{Limits, ResponseReader};
    /// let reader = ResponseReader::new(Limits::default());
    /// assert_eq!(reader.buffered(), 0);
    /// ```
    pub fn new(limits: Limits) -> Self {
        Self { head: HeadReader::new(limits.max_head_size), limits, interim: 0, failed: None }
    }

    /// Feeds received bytes. `Ok(None)`: the final head is not complete yet (all of `data` was
    /// taken). `Ok(Some((head, n)))`: `data[..n]` completed it (with any interim heads), and
    /// `data[n..]` follows it.
    ///
    /// ```
    /// use laputa_core::http::StatusCode;
    /// use laputa_core::http1::{Http1Error, Limits, ResponseReader};
    ///
    /// let mut limits = Limits::default();
    /// limits.max_head_size = 1024;
    /// let mut reader = ResponseReader::new(limits);
    /// // A server that sends nothing but interim responses is cut off.
    /// let err = loop {
    ///     match reader.push(b"HTTP/1.1 102 Processing\r\n\r\n") {
    ///         Ok(None) => {}
    ///         Ok(Some(head)) => panic!("{head:?}"),
    ///         Err(err) => break err,
    ///     }
    /// };
    /// assert_eq!(err, Http1Error::HeadTooLarge);
    /// ```
    pub fn push(&mut self, data: &[u8]) -> Result<Option<(ResponseHead, usize)>, Http1Error> {
        if let Some(err) = self.failed {
            return Err(err);
        }
        let result = self.read(data);
        if let Err(err) = &result {
            self.failed = Some(*err);
        }
        result
    }

    fn read(&mut self, data: &[u8]) -> Result<Option<(ResponseHead, usize)>, Http1Error> {
        let mut used = 0;
        loop {
            let Some(end) = self.head.push(&data[used..])? else { return Ok(None) };
            used += end;
            let head = parse_response(self.head.head(), self.limits.max_headers)?;
            if head.status.is_informational() && head.status != StatusCode::SWITCHING_PROTOCOLS {
                debug!(status = head.status.as_u16(), "interim response skipped");
                self.interim += self.head.taken();
                self.head = HeadReader::new(self.limits.max_head_size.saturating_sub(self.interim));
                continue;
            }
            self.interim = 0;
            self.head = HeadReader::new(self.limits.max_head_size);
            return Ok(Some((head, used)));
        }
    }

    /// How many bytes of an incomplete head are held (0 between responses).
    ///
    /// ```
    /// use laputa_core::http1::{Limits, ResponseReader};
    ///
    /// let mut reader = ResponseReader::new(Limits::default());
    /// reader.push(b"HTTP/1.1 2")?;
    /// assert_eq!(reader.buffered(), 10);
    /// # Ok::<(), laputa_core::http1::Http1Error>(())
    /// ```
    pub fn buffered(&self) -> usize {
        self.head.head().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::Method;

    #[test]
    fn head_end_found_across_every_split() {
        let input = b"GET / HTTP/1.1\r\nHost: a\r\n\r\nrest";
        let head_len = input.len() - 4;
        for split in 0..=input.len() {
            let mut reader = HeadReader::new(1024);
            let (a, b) = input.split_at(split);
            let end = match reader.push(a).unwrap() {
                Some(end) => end,
                None => split + reader.push(b).unwrap().unwrap(),
            };
            assert_eq!(end, head_len, "split at {split}");
            assert_eq!(reader.head(), &input[..head_len]);
        }
    }

    #[test]
    fn a_bare_lf_in_the_head_is_refused_however_the_input_is_split() {
        let input = b"GET / HTTP/1.1\r\nHost: a\nX: b\r\n\r\n";
        for split in 0..=input.len() {
            let mut reader = HeadReader::new(1024);
            let (a, b) = input.split_at(split);
            let result = reader.push(a).and_then(|found| match found {
                Some(end) => Ok(Some(end)),
                None => reader.push(b),
            });
            assert_eq!(
                result,
                Err(Http1Error::Malformed("a line of the head ends with LF without CR")),
                "split at {split}"
            );
        }
        let mut reader = HeadReader::new(1024);
        assert_eq!(
            reader.push(b"\n\r\nGET / HTTP/1.1\r\n\r\n"),
            Ok(Some(21)),
            "empty lines before the head may be bare"
        );
    }

    #[test]
    fn head_end_found_byte_by_byte() {
        let input = b"HTTP/1.1 101 OK\r\n\r\n";
        let mut reader = HeadReader::new(1024);
        for (i, byte) in input.iter().enumerate() {
            let found = reader.push(std::slice::from_ref(byte)).unwrap();
            assert_eq!(found.is_some(), i == input.len() - 1);
        }
        assert_eq!(reader.head(), input);
    }

    #[test]
    fn head_reader_enforces_size_limit() {
        let mut reader = HeadReader::new(10);
        assert_eq!(reader.push(b"0123456789"), Ok(None));
        assert_eq!(reader.push(b"x"), Err(Http1Error::HeadTooLarge));
        // A head of exactly the limit is fine, even with bytes after it.
        let mut reader = HeadReader::new(8);
        assert_eq!(reader.push(b"ab\r\n\r\nmore bytes"), Ok(Some(6)));
        let mut reader = HeadReader::new(5);
        assert_eq!(reader.push(b"ab\r\n\r\n"), Err(Http1Error::HeadTooLarge));
    }

    #[test]
    fn empty_lines_before_a_request_are_skipped_and_counted() {
        let input = b"\r\n\n\r\nGET / HTTP/1.1\r\n\r\nX";
        for split in 0..=input.len() {
            let mut reader = RequestReader::new(Limits::default());
            let (a, b) = input.split_at(split);
            let (head, used) = match reader.push(a).unwrap() {
                Some(done) => done,
                None => reader.push(b).unwrap().map(|(head, n)| (head, split + n)).unwrap(),
            };
            assert_eq!((head.target.path(), used), ("/", input.len() - 1), "split at {split}");
        }
        let limits = Limits { max_head_size: 20, ..Limits::default() };
        let mut reader = RequestReader::new(limits);
        assert_eq!(reader.push(&[b'\n'; 20]), Ok(None));
        assert_eq!(reader.push(b"\n"), Err(Http1Error::HeadTooLarge));
        let mut reader = RequestReader::new(limits);
        assert_eq!(reader.push(b"\n\n\nGET / HTTP/1.1\r\n\r\n"), Err(Http1Error::HeadTooLarge), "3 + 18 > 20");
        let mut reader = RequestReader::new(Limits::default());
        assert_eq!(reader.push(b"\r"), Ok(None));
        assert_eq!(reader.push(b"GET / HTTP/1.1\r\n\r\n"), Err(Http1Error::Malformed("bare CR before the start line")));
        // The bound is met before a bare CR after it, however the input is read.
        let mut input = [b'\n'; 23];
        input[21..].copy_from_slice(b"\rX");
        for split in 0..=23 {
            let mut reader = RequestReader::new(limits);
            let result = reader.push(&input[..split]).and_then(|_| reader.push(&input[split..]));
            assert_eq!(result, Err(Http1Error::HeadTooLarge), "split at {split}");
        }
    }

    #[test]
    fn request_line_bound_gives_414_and_head_bound_431() {
        let limits = Limits { max_request_line: 20, max_head_size: 40, ..Limits::default() };
        let long_line = format!("GET /{} HTTP/1.1\r\n\r\n", "a".repeat(10));
        assert_eq!(long_line.find('\r'), Some(24));
        for split in 0..=long_line.len() {
            let mut reader = RequestReader::new(limits);
            let (a, b) = long_line.as_bytes().split_at(split);
            let result = reader.push(a).and_then(|first| first.map_or_else(|| reader.push(b), |done| Ok(Some(done))));
            assert_eq!(result, Err(Http1Error::RequestLineTooLong), "split at {split}");
        }
        // A line of exactly the bound (its CR included) is fine; header lines are not bound by it.
        let mut reader = RequestReader::new(limits);
        let exact = format!("GET /{} HTTP/1.1\r\nX: {}\r\n\r\n", "a".repeat(5), "b".repeat(10));
        assert!(reader.push(exact.as_bytes()).unwrap().is_some());
        // Over both bounds: the one the input crosses first decides, however it is read.
        for split in 0..=41 {
            let mut reader = RequestReader::new(limits);
            let result = reader.push(&[b'a'; 41][..split]).and_then(|_| reader.push(&[b'a'; 41][split..]));
            assert_eq!(result, Err(Http1Error::RequestLineTooLong), "split at {split}");
        }
        let mut reader = RequestReader::new(Limits { max_request_line: 40, ..limits });
        assert_eq!(reader.push(&[b'a'; 41]), Err(Http1Error::HeadTooLarge));
        let mut reader = RequestReader::new(Limits { max_request_line: 39, ..limits });
        assert_eq!(reader.push(&[b'a'; 41]), Err(Http1Error::RequestLineTooLong));
        // Skipped empty lines leave less room for the head.
        let mut reader = RequestReader::new(Limits { max_request_line: 39, ..limits });
        assert_eq!(reader.push(b"\n\n"), Ok(None));
        assert_eq!(reader.push(&[b'a'; 39]), Err(Http1Error::HeadTooLarge));
    }

    #[test]
    fn pipelined_requests_in_every_split() {
        let input = b"GET /1 HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\n\r\n\r\nGET /3 HTTP/1.0\r\n\r\n";
        for split in 0..=input.len() {
            let mut reader = RequestReader::new(Limits::default());
            let mut targets = Vec::new();
            for mut piece in [&input[..split], &input[split..]] {
                while let Some((head, used)) = reader.push(piece).unwrap() {
                    targets.push(head.target.to_string());
                    piece = &piece[used..];
                }
            }
            assert_eq!(targets, ["/1", "/2", "/3"], "split at {split}");
            assert_eq!(reader.buffered(), 0);
        }
    }

    #[test]
    fn errors_are_sticky() {
        let mut reader = RequestReader::new(Limits::default());
        assert_eq!(reader.push(b"GET / HTTP/3.0\r\n\r\n"), Err(Http1Error::UnsupportedVersion));
        assert_eq!(reader.push(b"GET / HTTP/1.1\r\n\r\n"), Err(Http1Error::UnsupportedVersion));
        let mut reader = ResponseReader::new(Limits::default());
        assert!(reader.push(b"HTTP/1.1 20 OK\r\n\r\n").is_err());
        assert!(reader.push(b"HTTP/1.1 200 OK\r\n\r\n").is_err());
    }

    /// RFC 9110 section 15.2: 1xx before the final response, in one read and split at every
    /// byte.
    #[test]
    fn interim_responses_are_skipped_in_every_split() {
        let input = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n\
                      HTTP/1.1 401 Unauthorized\r\nContent-Length: 2\r\n\r\nno";
        for split in 0..=input.len() {
            let mut reader = ResponseReader::new(Limits::default());
            let (a, b) = input.split_at(split);
            let (head, used) = match reader.push(a).unwrap() {
                Some(done) => done,
                None => reader.push(b).unwrap().map(|(head, n)| (head, split + n)).unwrap(),
            };
            assert_eq!(head.status, StatusCode::UNAUTHORIZED, "split at {split}");
            assert_eq!(&input[used..], b"no", "split at {split}");
            assert_eq!(head.framing(&Method::GET), Ok(super::super::Framing::Length(2)));
        }
    }

    #[test]
    fn interim_heads_count_towards_the_limit() {
        let interim = b"HTTP/1.1 100 Continue\r\n\r\n";
        let last = b"HTTP/1.1 204 No Content\r\n\r\n";
        let total = interim.len() * 3 + last.len();
        let mut input = interim.repeat(3);
        input.extend_from_slice(last);
        for max in [total - 1, total] {
            let limits = Limits { max_head_size: max, ..Limits::default() };
            let mut reader = ResponseReader::new(limits);
            let result = reader.push(&input).map(|done| done.map(|(head, n)| (head.status, n)));
            let expected =
                if max == total { Ok(Some((StatusCode::NO_CONTENT, total))) } else { Err(Http1Error::HeadTooLarge) };
            assert_eq!(result, expected, "max {max}");
        }
        // The bound is per response: the next one starts afresh.
        let limits = Limits { max_head_size: total, ..Limits::default() };
        let mut reader = ResponseReader::new(limits);
        for _ in 0..3 {
            assert_eq!(reader.push(&input).unwrap().map(|(_, n)| n), Some(total));
        }
    }

    #[test]
    fn switching_protocols_is_final() {
        let mut reader = ResponseReader::new(Limits::default());
        let input = b"HTTP/1.1 101 Switching Protocols\r\n\r\nHTTP/1.1 200 OK\r\n\r\n";
        let (head, used) = reader.push(input).unwrap().unwrap();
        assert_eq!((head.status, used), (StatusCode::SWITCHING_PROTOCOLS, 36));
    }
}
