//! The body decoder (RFC 9112 sections 6 and 7): fed bytes as they arrive, it yields the body
//! and where the message ends.

use super::framing::Framing;
use super::head::{header_map, header_storage, parse_error};
use super::reader::HeadReader;
use super::Http1Error;
use http::HeaderMap;

/// Most bytes of chunk extensions in one body, all chunks together. Extensions carry nothing
/// this module uses, and a peer sending endless ones without data would otherwise never be
/// bounded by the body size (Node.js bounds them the same way since CVE-2024-22019).
pub const MAX_CHUNK_EXTENSIONS: usize = 16 << 10;
/// Longest chunk size, in hex digits with any leading zeros and whitespace after them.
const MAX_CHUNK_SIZE_LINE: usize = 64;
/// Largest trailer section of a chunked body, in bytes, its final empty line included.
pub const MAX_TRAILER_SIZE: usize = 16 << 10;
/// Most trailer fields of a chunked body.
pub const MAX_TRAILERS: usize = 64;

/// What [`BodyDecoder::push`] did with its input.
///
/// ```
/// use laputa_core::http1::{BodyDecoder, Framing, Progress};
///
/// let mut decoder = BodyDecoder::new(Framing::Length(4), 1024);
/// let mut body = Vec::new();
/// assert_eq!(decoder.push(b"ab", &mut body)?, Progress::NeedMore);
/// assert_eq!(decoder.push(b"cdHTTP/1.1 200 OK", &mut body)?, Progress::Done(2));
/// assert_eq!(body, b"abcd");
/// # Ok::<(), laputa_core::http1::Http1Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Progress {
    /// All of the input was taken and the body has not ended.
    NeedMore,
    /// The body ended after `n` bytes of the input; the rest is the next message (or the other
    /// protocol after an upgrade or a tunnel). Once done, every push returns `Done(0)`.
    Done(usize),
}

/// Decodes one message body as it arrives: `Content-Length`, chunked, or read until the
/// connection closes, with a maximum size.
///
/// Body bytes are appended to the caller's buffer; the decoder itself holds no body, only at
/// most [`MAX_TRAILER_SIZE`] bytes of trailers. A body that would exceed the maximum fails with
/// [`Http1Error::BodyTooLarge`] before any byte over it is appended: a `Content-Length` over
/// it at the first call (`push` or `push_eof`), a chunk at its size line, a body read until
/// the close at the read that would pass it (none of which is appended).
///
/// The chunked coding is read strictly (RFC 9112 section 7.1): hex sizes that do not
/// overflow, CRLF after every size line and every chunk, extensions skipped but free of
/// control characters and bounded ([`MAX_CHUNK_EXTENSIONS`]), trailers parsed and bounded
/// ([`MAX_TRAILER_SIZE`], [`MAX_TRAILERS`]). After an error every call returns it again.
///
/// ```
/// use laputa_core::http1::{BodyDecoder, Framing, Progress};
///
/// let input = b"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nExpires: never\r\n\r\nnext";
/// let mut decoder = BodyDecoder::new(Framing::Chunked, 1 << 20);
/// let mut body = Vec::new();
/// let Progress::Done(used) = decoder.push(input, &mut body)? else { panic!("a complete body") };
/// assert_eq!(body, b"hello world");
/// assert_eq!(&input[used..], b"next");
/// assert_eq!(decoder.trailers().unwrap()["expires"], "never");
/// # Ok::<(), laputa_core::http1::Http1Error>(())
/// ```
#[derive(Debug)]
pub struct BodyDecoder {
    state: State,
    max: u64,
    /// Body bytes handed out so far.
    received: u64,
    /// Chunk extension bytes skipped so far.
    extensions: usize,
    trailers: Option<HeaderMap>,
}

/// Where the decoder is.
#[derive(Debug)]
enum State {
    /// Bytes left of a `Content-Length` body.
    Length(u64),
    /// Reading the chunk size: its value and how many characters it has taken.
    Size {
        value: u64,
        chars: usize,
    },
    /// Whitespace after the chunk size (before `;` or CR).
    SizeSpace {
        value: u64,
        chars: usize,
    },
    /// Skipping a chunk extension, up to CR.
    Extension {
        value: u64,
    },
    /// The CR ending the size line was read; its LF comes next.
    SizeLf {
        value: u64,
    },
    /// Bytes left of the current chunk.
    Data(u64),
    /// The CR after a chunk's data comes next.
    DataCr,
    /// The LF after a chunk's data comes next.
    DataLf,
    /// The trailer section, up to its empty line.
    Trailers(HeadReader),
    /// Everything until the connection closes.
    ToClose,
    Done,
    Failed(Http1Error),
}

impl BodyDecoder {
    /// A decoder of a body with this framing, of at most `max` bytes (after decoding).
    ///
    /// ```
    /// use laputa_core::http1::{BodyDecoder, Framing, Http1Error};
    ///
    /// let mut decoder = BodyDecoder::new(Framing::Length(10 << 20), 64 << 10);
    /// assert_eq!(decoder.push(b"", &mut Vec::new()), Err(Http1Error::BodyTooLarge));
    /// let mut decoder = BodyDecoder::new(Framing::Length(10 << 20), 64 << 10);
    /// assert_eq!(decoder.push_eof(), Err(Http1Error::BodyTooLarge));
    /// ```
    pub fn new(framing: Framing, max: u64) -> Self {
        let state = match framing {
            Framing::NoBody | Framing::Length(0) => State::Done,
            // Known to be too large before a byte arrives: the first call says so.
            Framing::Length(n) if n > max => State::Failed(Http1Error::BodyTooLarge),
            Framing::Length(n) => State::Length(n),
            Framing::Chunked => State::Size { value: 0, chars: 0 },
            Framing::ReadToClose => State::ToClose,
        };
        Self { state, max, received: 0, extensions: 0, trailers: None }
    }

    /// Feeds received bytes; the body bytes among them are appended to `out`.
    ///
    /// ```
    /// use laputa_core::http1::{BodyDecoder, Framing, Http1Error, Progress};
    ///
    /// let mut decoder = BodyDecoder::new(Framing::Chunked, 1024);
    /// let mut body = Vec::new();
    /// // A chunk may arrive one byte at a time.
    /// for byte in b"3\r\nabc\r\n0\r\n\r" {
    ///     assert_eq!(decoder.push(&[*byte], &mut body)?, Progress::NeedMore);
    /// }
    /// assert_eq!(decoder.push(b"\n", &mut body)?, Progress::Done(1));
    /// assert_eq!(body, b"abc");
    ///
    /// let mut decoder = BodyDecoder::new(Framing::Chunked, 1024);
    /// assert_eq!(decoder.push(b"x\r\n", &mut body), Err(Http1Error::InvalidChunk("chunk size is not hex")));
    /// # Ok::<(), Http1Error>(())
    /// ```
    pub fn push(&mut self, data: &[u8], out: &mut Vec<u8>) -> Result<Progress, Http1Error> {
        let result = self.decode(data, out);
        if let Err(err) = result {
            self.state = State::Failed(err);
        }
        result
    }

    /// The connection ended: `Ok` if the body is complete (a body read until the close always
    /// is), else [`Http1Error::Incomplete`] (RFC 9112 section 8: a chunked body without its
    /// zero-size chunk, or fewer bytes than the `Content-Length`, "is incomplete").
    ///
    /// ```
    /// use laputa_core::http1::{BodyDecoder, Framing, Http1Error, Progress};
    ///
    /// let mut body = Vec::new();
    /// let mut decoder = BodyDecoder::new(Framing::ReadToClose, 1024);
    /// assert_eq!(decoder.push(b"<html>", &mut body)?, Progress::NeedMore);
    /// assert_eq!(decoder.push_eof(), Ok(()));
    /// assert!(decoder.is_done());
    ///
    /// let mut decoder = BodyDecoder::new(Framing::Length(10), 1024);
    /// assert_eq!(decoder.push(b"short", &mut body)?, Progress::NeedMore);
    /// assert_eq!(decoder.push_eof(), Err(Http1Error::Incomplete));
    /// # Ok::<(), Http1Error>(())
    /// ```
    pub fn push_eof(&mut self) -> Result<(), Http1Error> {
        match self.state {
            State::Done => Ok(()),
            State::ToClose => {
                self.state = State::Done;
                Ok(())
            }
            State::Failed(err) => Err(err),
            _ => {
                self.state = State::Failed(Http1Error::Incomplete);
                Err(Http1Error::Incomplete)
            }
        }
    }

    /// Whether the whole body has been read.
    ///
    /// ```
    /// use laputa_core::http1::{BodyDecoder, Framing};
    ///
    /// assert!(BodyDecoder::new(Framing::NoBody, 0).is_done());
    /// assert!(!BodyDecoder::new(Framing::Chunked, 0).is_done());
    /// ```
    pub fn is_done(&self) -> bool {
        matches!(self.state, State::Done)
    }

    /// The trailer fields of a chunked body, once it is done (empty if it had none); `None`
    /// before, and for other framings.
    ///
    /// ```
    /// use laputa_core::http1::{BodyDecoder, Framing};
    ///
    /// let mut decoder = BodyDecoder::new(Framing::Chunked, 1024);
    /// decoder.push(b"0\r\nDigest: sha-256=abc\r\n\r\n", &mut Vec::new())?;
    /// assert_eq!(decoder.trailers().unwrap()["digest"], "sha-256=abc");
    /// # Ok::<(), laputa_core::http1::Http1Error>(())
    /// ```
    pub fn trailers(&self) -> Option<&HeaderMap> {
        self.trailers.as_ref()
    }

    /// Body bytes still to come of a `Content-Length` body; `None` for the other framings (and
    /// once done or failed).
    pub(crate) fn remaining(&self) -> Option<u64> {
        match self.state {
            State::Length(left) => Some(left),
            _ => None,
        }
    }

    /// Takes the trailer fields of a finished chunked body.
    pub(crate) fn take_trailers(&mut self) -> Option<HeaderMap> {
        self.trailers.take()
    }

    fn decode(&mut self, data: &[u8], out: &mut Vec<u8>) -> Result<Progress, Http1Error> {
        let mut i = 0;
        loop {
            match &mut self.state {
                State::Done => return Ok(Progress::Done(i)),
                State::Failed(err) => return Err(*err),
                State::Length(left) | State::Data(left) => {
                    let take = usize::try_from(*left).map_or(data.len() - i, |left| left.min(data.len() - i));
                    *left -= take as u64;
                    let ended = *left == 0;
                    out.extend_from_slice(&data[i..i + take]);
                    self.received += take as u64;
                    i += take;
                    if ended {
                        self.state = match self.state {
                            State::Data(_) => State::DataCr,
                            _ => State::Done,
                        };
                    } else {
                        return Ok(Progress::NeedMore);
                    }
                }
                State::ToClose => {
                    let rest = &data[i..];
                    self.check_room(rest.len() as u64)?;
                    out.extend_from_slice(rest);
                    self.received += rest.len() as u64;
                    return Ok(Progress::NeedMore);
                }
                State::Trailers(reader) => {
                    let pushed = reader.push(&data[i..]).map_err(|err| match err {
                        Http1Error::HeadTooLarge => Http1Error::TrailersTooLarge,
                        _ => Http1Error::InvalidChunk("malformed trailer section"),
                    });
                    let Some(end) = pushed? else {
                        return Ok(Progress::NeedMore);
                    };
                    self.trailers = Some(parse_trailers(reader.head())?);
                    self.state = State::Done;
                    i += end;
                }
                _ => {
                    let Some(&byte) = data.get(i) else { return Ok(Progress::NeedMore) };
                    self.chunk_byte(byte)?;
                    i += 1;
                }
            }
        }
    }

    /// One byte of the chunked coding outside chunk data and trailers:
    ///
    /// ```text
    /// chunk      = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
    /// chunk-size = 1*HEXDIG
    /// last-chunk = 1*("0") [ chunk-ext ] CRLF
    /// chunk-ext  = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
    /// ```
    fn chunk_byte(&mut self, byte: u8) -> Result<(), Http1Error> {
        self.state = match self.state {
            State::Size { value, chars } => match (hex_value(byte), byte) {
                (Some(digit), _) => {
                    // "Recipients MUST anticipate potentially large hexadecimal numerals and
                    // prevent parsing errors due to integer conversion overflows".
                    let value = value
                        .checked_mul(16)
                        .map(|v| v + u64::from(digit))
                        .ok_or(Http1Error::InvalidChunk("chunk size overflows"))?;
                    State::Size { value, chars: size_char(chars)? }
                }
                _ if chars == 0 => return Err(Http1Error::InvalidChunk("chunk size is not hex")),
                (None, b' ' | b'\t') => State::SizeSpace { value, chars: size_char(chars)? },
                (None, _) => self.after_size(value, byte)?,
            },
            State::SizeSpace { value, chars } => match byte {
                b' ' | b'\t' => State::SizeSpace { value, chars: size_char(chars)? },
                _ => self.after_size(value, byte)?,
            },
            State::Extension { value } => match byte {
                b'\r' => State::SizeLf { value },
                // qdtext, quoted-pair and tchar are all tab, space, visible ASCII or obs-text.
                b'\t' | b' '..=b'~' | 0x80.. => {
                    self.count_extension()?;
                    State::Extension { value }
                }
                _ => return Err(Http1Error::InvalidChunk("control character in a chunk extension")),
            },
            State::SizeLf { value } => match byte {
                b'\n' if value == 0 => State::Trailers(HeadReader::seeded(b"\r\n", MAX_TRAILER_SIZE + 2)),
                b'\n' => {
                    self.check_room(value)?;
                    State::Data(value)
                }
                _ => return Err(Http1Error::InvalidChunk("no LF after the chunk size line")),
            },
            State::DataCr => match byte {
                b'\r' => State::DataLf,
                _ => return Err(Http1Error::InvalidChunk("no CRLF after the chunk data")),
            },
            State::DataLf => match byte {
                b'\n' => State::Size { value: 0, chars: 0 },
                _ => return Err(Http1Error::InvalidChunk("no CRLF after the chunk data")),
            },
            _ => return Err(Http1Error::InvalidChunk("unexpected state")),
        };
        Ok(())
    }

    /// The state after a chunk size and its whitespace: an extension or the end of the line.
    fn after_size(&mut self, value: u64, byte: u8) -> Result<State, Http1Error> {
        match byte {
            b';' => {
                self.count_extension()?;
                Ok(State::Extension { value })
            }
            b'\r' => Ok(State::SizeLf { value }),
            _ => Err(Http1Error::InvalidChunk("invalid character after the chunk size")),
        }
    }

    /// Counts one byte of a chunk extension (its `;` included) against
    /// [`MAX_CHUNK_EXTENSIONS`].
    fn count_extension(&mut self) -> Result<(), Http1Error> {
        self.extensions += 1;
        match self.extensions > MAX_CHUNK_EXTENSIONS {
            true => Err(Http1Error::TrailersTooLarge),
            false => Ok(()),
        }
    }

    /// Fails if `n` more body bytes would exceed the maximum.
    fn check_room(&self, n: u64) -> Result<(), Http1Error> {
        match self.received.checked_add(n) {
            Some(total) if total <= self.max => Ok(()),
            _ => Err(Http1Error::BodyTooLarge),
        }
    }
}

/// Counts one more character of a chunk size line.
fn size_char(chars: usize) -> Result<usize, Http1Error> {
    match chars < MAX_CHUNK_SIZE_LINE {
        true => Ok(chars + 1),
        false => Err(Http1Error::InvalidChunk("chunk size too long")),
    }
}

fn hex_value(byte: u8) -> Option<u8> {
    char::from(byte).to_digit(16).map(|d| d as u8)
}

/// Parses the trailer section as read after the last chunk: `\r\n`, the fields, the empty line.
fn parse_trailers(section: &[u8]) -> Result<HeaderMap, Http1Error> {
    let fields = &section[2..];
    let mut storage = header_storage(fields, MAX_TRAILERS);
    match httparse::parse_headers(fields, &mut storage) {
        Ok(httparse::Status::Complete((len, parsed))) if len == fields.len() => {
            header_map(parsed).map_err(|_| Http1Error::InvalidChunk("invalid trailer field"))
        }
        Ok(_) => Err(Http1Error::InvalidChunk("malformed trailer section")),
        Err(err) => Err(match parse_error(err, "malformed trailer section") {
            Http1Error::HeadTooLarge => Http1Error::TrailersTooLarge,
            _ => Http1Error::InvalidChunk("malformed trailer section"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http1::write_chunk;

    /// Decodes `input` pushed in `pieces`; the body, the input used (or the error), and the
    /// trailers.
    fn decode_pieces(framing: Framing, max: u64, pieces: &[&[u8]]) -> (Vec<u8>, Result<Option<usize>, Http1Error>) {
        let mut decoder = BodyDecoder::new(framing, max);
        let mut body = Vec::new();
        let mut offset = 0;
        for piece in pieces {
            match decoder.push(piece, &mut body) {
                Ok(Progress::NeedMore) => offset += piece.len(),
                Ok(Progress::Done(n)) => return (body, Ok(Some(offset + n))),
                Err(err) => return (body, Err(err)),
            }
        }
        (body, Ok(None))
    }

    /// The outcome of decoding `input`, checked to be the same for every split in two and for
    /// byte-at-a-time pushes.
    fn decode(framing: Framing, max: u64, input: &[u8]) -> (Vec<u8>, Result<Option<usize>, Http1Error>) {
        let whole = decode_pieces(framing, max, &[input]);
        for split in 0..=input.len() {
            let (a, b) = input.split_at(split);
            let split_result = decode_pieces(framing, max, &[a, b]);
            match (&whole.1, &split_result.1) {
                // An error may come before every body byte of the whole input is out.
                (Err(_), Err(_)) => assert_eq!(whole.1, split_result.1, "split at {split}"),
                _ => assert_eq!(whole, split_result, "split at {split}"),
            }
        }
        let bytes: Vec<&[u8]> = if input.is_empty() { vec![input] } else { input.chunks(1).collect() };
        assert_eq!(decode_pieces(framing, max, &bytes).1, whole.1, "byte by byte");
        whole
    }

    fn chunked(input: &[u8]) -> (Vec<u8>, Result<Option<usize>, Http1Error>) {
        decode(Framing::Chunked, 1 << 20, input)
    }

    fn chunk_error(input: &[u8]) -> Http1Error {
        chunked(input).1.unwrap_err()
    }

    #[test]
    fn no_body() {
        assert_eq!(decode(Framing::NoBody, 0, b"GET"), (vec![], Ok(Some(0))));
        assert_eq!(decode(Framing::Length(0), 0, b""), (vec![], Ok(Some(0))));
    }

    #[test]
    fn content_length() {
        assert_eq!(decode(Framing::Length(5), 5, b"hello world"), (b"hello".to_vec(), Ok(Some(5))));
        assert_eq!(decode(Framing::Length(5), 5, b"hel"), (b"hel".to_vec(), Ok(None)));
        assert_eq!(decode(Framing::Length(5), 4, b"hello").1, Err(Http1Error::BodyTooLarge));
        assert_eq!(decode(Framing::Length(u64::MAX), u64::MAX, b"abc"), (b"abc".to_vec(), Ok(None)));
        let mut decoder = BodyDecoder::new(Framing::Length(3), 3);
        let mut body = Vec::new();
        assert_eq!(decoder.push(b"ab", &mut body), Ok(Progress::NeedMore));
        assert_eq!(decoder.push_eof(), Err(Http1Error::Incomplete));
        assert_eq!(decoder.push(b"c", &mut body), Err(Http1Error::Incomplete), "sticky");
    }

    #[test]
    fn read_to_close() {
        let mut decoder = BodyDecoder::new(Framing::ReadToClose, 6);
        let mut body = Vec::new();
        assert_eq!(decoder.push(b"abc", &mut body), Ok(Progress::NeedMore));
        assert_eq!(decoder.push(b"def", &mut body), Ok(Progress::NeedMore));
        assert_eq!(decoder.push(b"g", &mut body), Err(Http1Error::BodyTooLarge));
        assert_eq!(body, b"abcdef", "nothing over the maximum is appended");
        let mut decoder = BodyDecoder::new(Framing::ReadToClose, 6);
        assert_eq!(decoder.push(b"abc", &mut body), Ok(Progress::NeedMore));
        assert_eq!(decoder.push_eof(), Ok(()));
        assert_eq!(decoder.push(b"x", &mut body), Ok(Progress::Done(0)));
        assert!(decoder.trailers().is_none());
    }

    #[test]
    fn chunked_bodies() {
        assert_eq!(chunked(b"0\r\n\r\n"), (vec![], Ok(Some(5))));
        assert_eq!(chunked(b"5\r\nhello\r\n0\r\n\r\nGET"), (b"hello".to_vec(), Ok(Some(15))));
        let input = b"A\r\n0123456789\r\na\r\nabcdefghij\r\n000\r\n\r\n";
        assert_eq!(chunked(input).0, b"0123456789abcdefghij");
        // Leading zeros, whitespace after the size, extensions with quoted strings and obs-text.
        let input = b"0003 \t;a=1;b=\"x;y\\\" \xff\"\r\nabc\r\n0;last\r\n\r\n";
        assert_eq!(chunked(input), (b"abc".to_vec(), Ok(Some(input.len()))));
        assert_eq!(chunked(b"5\r\nhel"), (b"hel".to_vec(), Ok(None)));
    }

    #[test]
    fn chunked_trailers() {
        let input = b"1\r\na\r\n0\r\nExpires: never\r\nX-Sum: 1\r\nx-sum: 2\r\n\r\nnext";
        let mut decoder = BodyDecoder::new(Framing::Chunked, 10);
        let mut body = Vec::new();
        assert_eq!(decoder.push(input, &mut body), Ok(Progress::Done(input.len() - 4)));
        let trailers = decoder.trailers().unwrap();
        assert_eq!(trailers.get_all("x-sum").iter().collect::<Vec<_>>(), ["1", "2"]);
        assert_eq!(chunked(input).1, Ok(Some(input.len() - 4)));
        assert_eq!(chunk_error(b"0\r\nBad Trailer: x\r\n\r\n"), Http1Error::InvalidChunk("malformed trailer section"));
        assert_eq!(chunk_error(b"0\r\nA: b\n\nC: d\r\n\r\n"), Http1Error::InvalidChunk("malformed trailer section"));
        let mut many = b"0\r\n".to_vec();
        for i in 0..=MAX_TRAILERS {
            many.extend_from_slice(format!("t{i}: v\r\n").as_bytes());
        }
        many.extend_from_slice(b"\r\n");
        assert_eq!(decode_pieces(Framing::Chunked, 10, &[&many]).1, Err(Http1Error::TrailersTooLarge));
        let mut large = b"0\r\nX: ".to_vec();
        large.extend(std::iter::repeat_n(b'a', MAX_TRAILER_SIZE));
        assert_eq!(decode_pieces(Framing::Chunked, 10, &[&large]).1, Err(Http1Error::TrailersTooLarge));
        // Exactly the bound: the section is "X: " + value + "\r\n\r\n".
        let mut exact = b"0\r\nX: ".to_vec();
        exact.extend(std::iter::repeat_n(b'a', MAX_TRAILER_SIZE - 7));
        exact.extend_from_slice(b"\r\n\r\n");
        assert_eq!(decode_pieces(Framing::Chunked, 10, &[&exact]).1, Ok(Some(exact.len())));
    }

    #[test]
    fn chunked_errors() {
        let not_hex = Http1Error::InvalidChunk("chunk size is not hex");
        assert_eq!(chunk_error(b"\r\n"), not_hex);
        assert_eq!(chunk_error(b"g\r\n"), not_hex);
        assert_eq!(chunk_error(b" 1\r\n"), not_hex);
        assert_eq!(chunk_error(b"-1\r\n"), not_hex);
        assert_eq!(chunk_error(b";x\r\n"), not_hex);
        assert_eq!(chunk_error(b"0x5\r\n"), Http1Error::InvalidChunk("invalid character after the chunk size"));
        assert_eq!(chunk_error(b"1 2\r\n"), Http1Error::InvalidChunk("invalid character after the chunk size"));
        assert_eq!(chunk_error(b"1\n"), Http1Error::InvalidChunk("invalid character after the chunk size"));
        assert_eq!(chunk_error(b"1\rx"), Http1Error::InvalidChunk("no LF after the chunk size line"));
        assert_eq!(chunk_error(b"1;a\nb\r\n"), Http1Error::InvalidChunk("control character in a chunk extension"));
        assert_eq!(chunk_error(b"1;a\x00\r\n"), Http1Error::InvalidChunk("control character in a chunk extension"));
        assert_eq!(chunk_error(b"1\r\naX"), Http1Error::InvalidChunk("no CRLF after the chunk data"));
        assert_eq!(chunk_error(b"1\r\na\rX"), Http1Error::InvalidChunk("no CRLF after the chunk data"));
        assert_eq!(chunk_error(b"1\r\na\n"), Http1Error::InvalidChunk("no CRLF after the chunk data"));
        assert_eq!(chunk_error(b"10000000000000000\r\n"), Http1Error::InvalidChunk("chunk size overflows"));
        assert_eq!(chunked(b"FFFFFFFFFFFFFFFF\r\n").1, Err(Http1Error::BodyTooLarge));
        let zeros = [b'0'; MAX_CHUNK_SIZE_LINE + 1];
        assert_eq!(chunk_error(&zeros), Http1Error::InvalidChunk("chunk size too long"));
        assert_eq!(chunked(&zeros[1..]).1, Ok(None));
    }

    #[test]
    fn chunked_maximum_is_checked_at_the_size_line() {
        let input = b"4\r\nabcd\r\n3\r\nefg\r\n0\r\n\r\n";
        assert_eq!(decode(Framing::Chunked, 7, input), (b"abcdefg".to_vec(), Ok(Some(input.len()))));
        assert_eq!(decode(Framing::Chunked, 6, input), (b"abcd".to_vec(), Err(Http1Error::BodyTooLarge)));
    }

    #[test]
    fn chunk_extensions_are_bounded_across_the_body() {
        let ext = format!(";{}", "e".repeat(1023));
        let mut input = Vec::new();
        for _ in 0..MAX_CHUNK_EXTENSIONS / ext.len() {
            input.extend_from_slice(format!("1{ext}\r\nx\r\n").as_bytes());
        }
        input.extend_from_slice(b"0\r\n\r\n");
        assert_eq!(decode_pieces(Framing::Chunked, 1 << 20, &[&input]).1, Ok(Some(input.len())));
        let mut over = input[..input.len() - 5].to_vec();
        over.extend_from_slice(b"1;e\r\n");
        assert_eq!(decode_pieces(Framing::Chunked, 1 << 20, &[&over]).1, Err(Http1Error::TrailersTooLarge));
    }

    #[test]
    fn encoder_round_trip() {
        let pieces: [&[u8]; 4] = [b"hello", b"", b" ", &[0xab; 300]];
        let mut wire = Vec::new();
        for piece in pieces {
            write_chunk(&mut wire, piece);
        }
        let mut trailers = HeaderMap::new();
        trailers.insert("x-checksum", http::HeaderValue::from_static("42"));
        crate::http1::write_last_chunk(&mut wire, &trailers);
        let (body, used) = chunked(&wire);
        assert_eq!(body, pieces.concat());
        assert_eq!(used, Ok(Some(wire.len())));
    }
}
