//! Negotiation of permessage-deflate parameters (RFC 7692 sections 5 to 7.1).

use crate::extensions::{write_extensions, Extension};
use crate::Role;
use std::fmt;

/// The extension's registered name.
///
/// ```
/// use laputa_core::deflate::PERMESSAGE_DEFLATE;
/// use laputa_core::extensions::parse_extensions;
///
/// let offers = parse_extensions("x-webkit-deflate-frame, permessage-deflate; client_max_window_bits")?;
/// assert!(offers.iter().any(|offer| offer.name == PERMESSAGE_DEFLATE));
/// # Ok::<(), laputa_core::extensions::ExtensionError>(())
/// ```
pub const PERMESSAGE_DEFLATE: &str = "permessage-deflate";

const SERVER_NO_CONTEXT_TAKEOVER: &str = "server_no_context_takeover";
const CLIENT_NO_CONTEXT_TAKEOVER: &str = "client_no_context_takeover";
const SERVER_MAX_WINDOW_BITS: &str = "server_max_window_bits";
const CLIENT_MAX_WINDOW_BITS: &str = "client_max_window_bits";

/// The largest LZ77 window, and the one used when none was negotiated.
const MAX_WINDOW_BITS: u8 = 15;
/// The smallest window our zlib compresses with; see [`DeflateConfig::server_max_window_bits`].
const MIN_ZLIB_WINDOW_BITS: u8 = 9;

/// What this endpoint asks for, allows and does when permessage-deflate is negotiated.
///
/// The same settings serve both roles; each field says what it means for a client (in the offer
/// it sends) and for a server (in how it answers offers). Construct with
/// [`DeflateConfig::default`] and change the fields you need:
///
/// ```
/// let mut deflate = laputa_core::DeflateConfig::default();
/// deflate.server_max_window_bits = Some(12);
/// deflate.compression_level = 6;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeflateConfig {
    /// Reset the server's compressor after every message (default `false`).
    ///
    /// Client: ask for it with `server_no_context_takeover` (a server that will not honour it
    /// declines the whole offer, hence [`fallback_offer`](Self::fallback_offer)). Server: always
    /// do it and say so in the response. Costs compression ratio: each message is compressed
    /// without reference to the ones before.
    pub server_no_context_takeover: bool,
    /// Reset the client's compressor after every message (default `false`).
    ///
    /// Client: do it and tell the server with `client_no_context_takeover`. Server: require it of
    /// every client by answering with `client_no_context_takeover`, which the RFC lets a server
    /// do whether or not the client offered it.
    pub client_no_context_takeover: bool,
    /// Largest LZ77 window, as a base-2 logarithm, that the server compresses with (default
    /// `None`: 15, a 32 KiB window).
    ///
    /// Client: ask for it with `server_max_window_bits=N`. Server: use at most this window, and
    /// answer with the smaller of it and what the client asked for.
    ///
    /// Values are clamped to 9..=15. 8 is a legal value on the wire, but zlib refuses to
    /// compress raw deflate with a 256-byte window (it had a bug there) and compresses with 9
    /// instead. That is still safe towards a peer that asked for 8: zlib never emits a match
    /// farther back than `window - 262` bytes, 250 for a 9-bit window, which an 8-bit
    /// decompressor can follow. An 8 received from the peer is honoured the same way.
    pub server_max_window_bits: Option<u8>,
    /// Largest LZ77 window, as a base-2 logarithm, that the client compresses with (default
    /// `None`: 15, or whatever the server allows).
    ///
    /// Client: compress with at most this window and offer `client_max_window_bits=N`; without
    /// it the offer still carries a bare `client_max_window_bits` so that the server may lower
    /// our window. Server: limit clients to this window when their offer allows it (an offer
    /// without `client_max_window_bits` gives the server no say, and is accepted at 15). Clamped
    /// to 9..=15 like [`server_max_window_bits`](Self::server_max_window_bits).
    pub client_max_window_bits: Option<u8>,
    /// zlib compression level, 0 (store) to 9 (smallest); values above 9 mean 9 (default 1).
    ///
    /// Level 1 is zlib-rs's quick strategy: on a stream of small JSON messages with context
    /// takeover it sends about 20 % of the bytes where level 6 sends 17 %, while running about
    /// seven times faster (roughly 390 against 55 MB/s per core). Per-message CPU is what a busy
    /// server runs out of, so the default favours speed.
    pub compression_level: u32,
    /// Messages shorter than this many bytes are sent uncompressed (default 64).
    ///
    /// Below a few dozen bytes the deflate block header and the flush cost about what
    /// compression saves, and compressing still costs CPU. The receiving side accepts both.
    pub min_compress_size: usize,
    /// Client: when the first offer asks the server for something it may refuse
    /// (`server_no_context_takeover`, `server_max_window_bits`), also offer permessage-deflate
    /// without those requests, so that such a server still enables compression (default
    /// `true`). Server: unused.
    pub fallback_offer: bool,
}

impl Default for DeflateConfig {
    fn default() -> Self {
        Self {
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            server_max_window_bits: None,
            client_max_window_bits: None,
            compression_level: 1,
            min_compress_size: 64,
            fallback_offer: true,
        }
    }
}

impl DeflateConfig {
    fn server_bits(&self) -> Option<u8> {
        self.server_max_window_bits.map(clamp_window_bits)
    }

    fn client_bits(&self) -> Option<u8> {
        self.client_max_window_bits.map(clamp_window_bits)
    }
}

fn clamp_window_bits(bits: u8) -> u8 {
    bits.clamp(MIN_ZLIB_WINDOW_BITS, MAX_WINDOW_BITS)
}

/// The parameters both ends agreed on, seen the same way by the client and the server.
///
/// Window sizes are base-2 logarithms as negotiated (8..=15; 15 where the handshake named none).
/// The codec compresses with at least 9 bits, see [`DeflateConfig::server_max_window_bits`].
/// The no-context-takeover flags also include what an endpoint chose for itself without asking:
/// a client configured with `client_no_context_takeover` resets its compressor even when the
/// server did not echo the parameter.
///
/// ```
/// use laputa_core::deflate::{client_accept, client_offer, server_negotiate};
/// use laputa_core::extensions::parse_extensions;
/// use laputa_core::DeflateConfig;
///
/// let client = DeflateConfig::default();
/// let mut server = DeflateConfig::default();
/// server.server_no_context_takeover = true;
///
/// let offers = parse_extensions(&client_offer(&client))?;
/// let (server_params, answer) = server_negotiate(&offers, &server).expect("the offer is acceptable");
/// let client_params = client_accept(&answer, &client)?;
/// assert_eq!(client_params, server_params, "both ends agree");
/// assert!(client_params.server_no_context_takeover);
/// assert_eq!((client_params.server_max_window_bits, client_params.client_max_window_bits), (15, 15));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeflateParams {
    /// The server resets its compressor after every message.
    pub server_no_context_takeover: bool,
    /// The client resets its compressor after every message.
    pub client_no_context_takeover: bool,
    /// Largest window the server compresses with.
    pub server_max_window_bits: u8,
    /// Largest window the client compresses with.
    pub client_max_window_bits: u8,
}

impl Default for DeflateParams {
    /// permessage-deflate without parameters: context takeover and 15-bit windows both ways.
    fn default() -> Self {
        Self {
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            server_max_window_bits: MAX_WINDOW_BITS,
            client_max_window_bits: MAX_WINDOW_BITS,
        }
    }
}

impl DeflateParams {
    /// Window of the messages that `role` sends: a server sends with the `server_*` parameters.
    ///
    /// ```
    /// use laputa_core::deflate::server_negotiate;
    /// use laputa_core::extensions::parse_extensions;
    /// use laputa_core::{DeflateConfig, Role};
    ///
    /// // The client compresses with at most a 10-bit window.
    /// let offers = parse_extensions("permessage-deflate; client_max_window_bits=10")?;
    /// let (params, _answer) = server_negotiate(&offers, &DeflateConfig::default()).expect("accepted");
    /// assert_eq!(params.send_window_bits(Role::Client), 10);
    /// assert_eq!(params.send_window_bits(Role::Server), 15);
    /// # Ok::<(), laputa_core::extensions::ExtensionError>(())
    /// ```
    pub fn send_window_bits(&self, role: Role) -> u8 {
        match role {
            Role::Server => self.server_max_window_bits,
            Role::Client => self.client_max_window_bits,
        }
    }

    /// Window of the messages that `role` receives.
    ///
    /// ```
    /// use laputa_core::deflate::server_negotiate;
    /// use laputa_core::extensions::parse_extensions;
    /// use laputa_core::{DeflateConfig, Role};
    ///
    /// // The client compresses with at most a 10-bit window, so that is what the server inflates.
    /// let offers = parse_extensions("permessage-deflate; client_max_window_bits=10")?;
    /// let (params, _answer) = server_negotiate(&offers, &DeflateConfig::default()).expect("accepted");
    /// assert_eq!(params.recv_window_bits(Role::Server), 10);
    /// assert_eq!(params.recv_window_bits(Role::Client), 15);
    /// # Ok::<(), laputa_core::extensions::ExtensionError>(())
    /// ```
    pub fn recv_window_bits(&self, role: Role) -> u8 {
        self.send_window_bits(peer(role))
    }

    /// Whether `role` resets its compressor after every message it sends.
    ///
    /// ```
    /// use laputa_core::deflate::server_negotiate;
    /// use laputa_core::extensions::parse_extensions;
    /// use laputa_core::{DeflateConfig, Role};
    ///
    /// // The client asks the server to compress every message on its own.
    /// let offers = parse_extensions("permessage-deflate; server_no_context_takeover")?;
    /// let (params, _answer) = server_negotiate(&offers, &DeflateConfig::default()).expect("accepted");
    /// assert!(params.send_no_context_takeover(Role::Server));
    /// assert!(!params.send_no_context_takeover(Role::Client));
    /// # Ok::<(), laputa_core::extensions::ExtensionError>(())
    /// ```
    pub fn send_no_context_takeover(&self, role: Role) -> bool {
        match role {
            Role::Server => self.server_no_context_takeover,
            Role::Client => self.client_no_context_takeover,
        }
    }

    /// Whether the peer of `role` resets its compressor after every message, which lets `role`
    /// reset its decompressor too.
    ///
    /// ```
    /// use laputa_core::deflate::server_negotiate;
    /// use laputa_core::extensions::parse_extensions;
    /// use laputa_core::{DeflateConfig, Role};
    ///
    /// // The server resets its compressor after every message, so the client may reset its
    /// // decompressor too.
    /// let offers = parse_extensions("permessage-deflate; server_no_context_takeover")?;
    /// let (params, _answer) = server_negotiate(&offers, &DeflateConfig::default()).expect("accepted");
    /// assert!(params.recv_no_context_takeover(Role::Client));
    /// assert!(!params.recv_no_context_takeover(Role::Server));
    /// # Ok::<(), laputa_core::extensions::ExtensionError>(())
    /// ```
    pub fn recv_no_context_takeover(&self, role: Role) -> bool {
        self.send_no_context_takeover(peer(role))
    }
}

fn peer(role: Role) -> Role {
    match role {
        Role::Server => Role::Client,
        Role::Client => Role::Server,
    }
}

/// Why a server's permessage-deflate response cannot be accepted. RFC 7692 says the client
/// "MUST _Fail the WebSocket Connection_" in each of these cases.
///
/// ```
/// use laputa_core::deflate::{client_accept, NegotiationError};
/// use laputa_core::extensions::parse_extensions;
/// use laputa_core::DeflateConfig;
///
/// let mut config = DeflateConfig::default();
/// config.server_max_window_bits = Some(10);
/// config.fallback_offer = false;
/// // We asked for a server window of at most 10 bits; the server answers with 12.
/// let response = parse_extensions("permessage-deflate; server_max_window_bits=12")?;
/// let err = client_accept(&response[0], &config).unwrap_err();
/// let param = "server_max_window_bits".to_owned();
/// assert_eq!(err, NegotiationError::WindowTooLarge { param, offered: 10, answered: 12 });
/// assert_eq!(err.to_string(), "response has server_max_window_bits=12, above the offered 10");
/// # Ok::<(), laputa_core::extensions::ExtensionError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NegotiationError {
    /// The element handed to [`client_accept`] is another extension.
    NotPermessageDeflate(String),
    /// A parameter RFC 7692 does not define.
    UnknownParameter(String),
    /// A parameter given twice.
    DuplicateParameter(String),
    /// A parameter that takes no value had one.
    UnexpectedValue(String),
    /// A parameter that needs a value had none.
    MissingValue(String),
    /// A window size that is not a decimal integer from 8 to 15 without leading zeros.
    InvalidValue {
        /// The parameter.
        param: String,
        /// The value received.
        value: String,
    },
    /// The response carries a parameter that no offer made possible
    /// (`client_max_window_bits` when the client did not offer it).
    NotOffered(String),
    /// The response ignored something the offer asked of the server: a server that cannot
    /// honour `server_no_context_takeover` or `server_max_window_bits` must decline the offer.
    NotHonoured(String),
    /// A window size larger than the offer allowed.
    WindowTooLarge {
        /// The parameter.
        param: String,
        /// The largest value the offer allowed.
        offered: u8,
        /// The value in the response.
        answered: u8,
    },
}

impl fmt::Display for NegotiationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotPermessageDeflate(name) => write!(f, "extension {name:?} is not permessage-deflate"),
            Self::UnknownParameter(p) => write!(f, "unknown permessage-deflate parameter {p:?}"),
            Self::DuplicateParameter(p) => write!(f, "duplicate permessage-deflate parameter {p}"),
            Self::UnexpectedValue(p) => write!(f, "permessage-deflate parameter {p} takes no value"),
            Self::MissingValue(p) => write!(f, "permessage-deflate parameter {p} needs a value"),
            Self::InvalidValue { param, value } => write!(f, "invalid value {value:?} for {param}"),
            Self::NotOffered(p) => write!(f, "response has {p}, which was not offered"),
            Self::NotHonoured(p) => write!(f, "response does not honour the requested {p}"),
            Self::WindowTooLarge { param, offered, answered } => {
                write!(f, "response has {param}={answered}, above the offered {offered}")
            }
        }
    }
}

impl std::error::Error for NegotiationError {}

/// The permessage-deflate parameters of one offer or response, validated for syntax.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Request {
    server_no_context_takeover: bool,
    client_no_context_takeover: bool,
    server_max_window_bits: Option<u8>,
    /// `Some(None)`: the parameter without a value (allowed in offers only).
    client_max_window_bits: Option<Option<u8>>,
}

impl Request {
    /// Reads and validates the parameters of an offer (`response == false`) or a response:
    /// RFC 7692 defines four, each allowed once, and fixes which take values.
    fn parse(ext: &Extension, response: bool) -> Result<Self, NegotiationError> {
        let mut request = Self::default();
        let mut seen = [false; 4];
        for (name, value) in &ext.params {
            let name = name.to_ascii_lowercase();
            let index = match name.as_str() {
                SERVER_NO_CONTEXT_TAKEOVER => 0,
                CLIENT_NO_CONTEXT_TAKEOVER => 1,
                SERVER_MAX_WINDOW_BITS => 2,
                CLIENT_MAX_WINDOW_BITS => 3,
                _ => return Err(NegotiationError::UnknownParameter(name)),
            };
            if std::mem::replace(&mut seen[index], true) {
                return Err(NegotiationError::DuplicateParameter(name));
            }
            let bits = match value {
                Some(value) => match parse_window_bits(value) {
                    Some(bits) => Some(bits),
                    None if index < 2 => return Err(NegotiationError::UnexpectedValue(name)),
                    None => return Err(NegotiationError::InvalidValue { param: name, value: value.clone() }),
                },
                None => None,
            };
            match index {
                0 | 1 if bits.is_some() => return Err(NegotiationError::UnexpectedValue(name)),
                0 => request.server_no_context_takeover = true,
                1 => request.client_no_context_takeover = true,
                2 => match bits {
                    // "This parameter has a decimal integer value", in offers and responses.
                    None => return Err(NegotiationError::MissingValue(name)),
                    Some(_) => request.server_max_window_bits = bits,
                },
                // In an offer the value is optional; in a response it is required.
                _ if response && bits.is_none() => return Err(NegotiationError::MissingValue(name)),
                _ => request.client_max_window_bits = Some(bits),
            }
        }
        Ok(request)
    }

    fn to_extension(self) -> Extension {
        let mut ext = Extension::new(PERMESSAGE_DEFLATE);
        if self.server_no_context_takeover {
            ext = ext.with_param(SERVER_NO_CONTEXT_TAKEOVER);
        }
        if self.client_no_context_takeover {
            ext = ext.with_param(CLIENT_NO_CONTEXT_TAKEOVER);
        }
        if let Some(bits) = self.server_max_window_bits {
            ext = ext.with_param_value(SERVER_MAX_WINDOW_BITS, bits.to_string());
        }
        match self.client_max_window_bits {
            Some(Some(bits)) => ext = ext.with_param_value(CLIENT_MAX_WINDOW_BITS, bits.to_string()),
            Some(None) => ext = ext.with_param(CLIENT_MAX_WINDOW_BITS),
            None => {}
        }
        ext
    }

    /// Whether this response is one a server may send to `offer` (RFC 7692 section 7.1).
    fn answers(&self, offer: &Self) -> Result<(), NegotiationError> {
        // 7.1.1.1: "A server accepts an extension negotiation offer that includes the
        // "server_no_context_takeover" extension parameter by including the
        // "server_no_context_takeover" extension parameter in the corresponding extension
        // negotiation response". A server may add it (and client_no_context_takeover) unasked.
        if offer.server_no_context_takeover && !self.server_no_context_takeover {
            return Err(NegotiationError::NotHonoured(SERVER_NO_CONTEXT_TAKEOVER.into()));
        }
        // 7.1.2.1: "A server accepts an extension negotiation offer with this parameter by
        // including the "server_max_window_bits" extension parameter in the extension negotiation
        // response to send back to the client with the same or smaller value as the offer."
        if let Some(offered) = offer.server_max_window_bits {
            match self.server_max_window_bits {
                None => return Err(NegotiationError::NotHonoured(SERVER_MAX_WINDOW_BITS.into())),
                Some(answered) if answered > offered => {
                    let param = SERVER_MAX_WINDOW_BITS.into();
                    return Err(NegotiationError::WindowTooLarge { param, offered, answered });
                }
                Some(_) => {}
            }
        }
        // 7.1.2.2: "If a received extension negotiation offer doesn't have the
        // "client_max_window_bits" extension parameter, the corresponding extension negotiation
        // response to the offer MUST NOT include the "client_max_window_bits" extension
        // parameter." With a value in the offer, the response may only lower it.
        if let Some(Some(answered)) = self.client_max_window_bits {
            match offer.client_max_window_bits {
                None => return Err(NegotiationError::NotOffered(CLIENT_MAX_WINDOW_BITS.into())),
                Some(Some(offered)) if answered > offered => {
                    let param = CLIENT_MAX_WINDOW_BITS.into();
                    return Err(NegotiationError::WindowTooLarge { param, offered, answered });
                }
                Some(_) => {}
            }
        }
        Ok(())
    }
}

/// A window size: "a decimal integer value without leading zeroes between 8 to 15, inclusive".
fn parse_window_bits(value: &str) -> Option<u8> {
    let digits = value.as_bytes();
    if digits.is_empty() || digits.len() > 2 || digits[0] == b'0' || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let bits = digits.iter().fold(0u8, |n, d| n * 10 + (d - b'0'));
    (8..=MAX_WINDOW_BITS).contains(&bits).then_some(bits)
}

/// The offers a client sends, most wanted first.
fn client_requests(config: &DeflateConfig) -> Vec<Request> {
    let client_max_window_bits = Some(config.client_bits());
    let fallback = Request {
        server_no_context_takeover: false,
        client_no_context_takeover: config.client_no_context_takeover,
        server_max_window_bits: None,
        client_max_window_bits,
    };
    let first = Request {
        server_no_context_takeover: config.server_no_context_takeover,
        server_max_window_bits: config.server_bits(),
        ..fallback
    };
    if config.fallback_offer && first != fallback {
        vec![first, fallback]
    } else {
        vec![first]
    }
}

/// The `Sec-WebSocket-Extensions` value a client sends to offer permessage-deflate.
///
/// The offer always carries `client_max_window_bits` (with the configured value, bare
/// otherwise), which tells the server it may lower our window. With
/// [`DeflateConfig::fallback_offer`], requests the server may refuse are followed by a second
/// offer without them.
///
/// ```
/// let mut config = laputa_core::DeflateConfig::default();
/// assert_eq!(laputa_core::deflate::client_offer(&config), "permessage-deflate; client_max_window_bits");
/// config.server_no_context_takeover = true;
/// assert_eq!(
///     laputa_core::deflate::client_offer(&config),
///     "permessage-deflate; server_no_context_takeover; client_max_window_bits, \
///      permessage-deflate; client_max_window_bits"
/// );
/// ```
pub fn client_offer(config: &DeflateConfig) -> String {
    let offers: Vec<Extension> = client_requests(config).into_iter().map(Request::to_extension).collect();
    write_extensions(&offers)
}

/// Checks the server's permessage-deflate response against what [`client_offer`] offered with
/// the same `config`, and returns the agreed parameters.
///
/// `response` is the `permessage-deflate` element of the response's `Sec-WebSocket-Extensions`
/// (a server may accept only one). Any error means the client must fail the connection.
///
/// ```
/// use laputa_core::deflate::{client_accept, client_offer, NegotiationError};
/// use laputa_core::extensions::parse_extensions;
/// use laputa_core::DeflateConfig;
///
/// let config = DeflateConfig::default();
/// assert_eq!(client_offer(&config), "permessage-deflate; client_max_window_bits");
/// // The server lowers our window to 10 bits and resets its compressor after every message.
/// let response = parse_extensions("permessage-deflate; server_no_context_takeover; client_max_window_bits=10")?;
/// let params = client_accept(&response[0], &config)?;
/// assert_eq!(params.client_max_window_bits, 10);
/// assert!(params.server_no_context_takeover);
///
/// let other = parse_extensions("x-webkit-deflate-frame")?;
/// assert!(matches!(client_accept(&other[0], &config), Err(NegotiationError::NotPermessageDeflate(_))));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn client_accept(response: &Extension, config: &DeflateConfig) -> Result<DeflateParams, NegotiationError> {
    if !response.name.eq_ignore_ascii_case(PERMESSAGE_DEFLATE) {
        return Err(NegotiationError::NotPermessageDeflate(response.name.clone()));
    }
    let answer = Request::parse(response, true)?;
    // The response does not say which offer it accepts: it is good if it answers any of them.
    // If none, the objection of the last offer, which asks the least, is the one reported.
    let mut objection = None;
    for offer in client_requests(config) {
        match answer.answers(&offer) {
            Ok(()) => {
                objection = None;
                break;
            }
            Err(e) => objection = Some(e),
        }
    }
    if let Some(e) = objection {
        return Err(e);
    }
    let client_max_window_bits = match answer.client_max_window_bits {
        Some(Some(bits)) => bits,
        _ => config.client_bits().unwrap_or(MAX_WINDOW_BITS),
    };
    Ok(DeflateParams {
        server_no_context_takeover: answer.server_no_context_takeover,
        client_no_context_takeover: answer.client_no_context_takeover || config.client_no_context_takeover,
        server_max_window_bits: answer.server_max_window_bits.unwrap_or(MAX_WINDOW_BITS),
        client_max_window_bits,
    })
}

/// Picks the first permessage-deflate offer the server can accept and builds its response.
///
/// `offers` are the parsed `Sec-WebSocket-Extensions` values of the request, concatenated;
/// other extensions are ignored. An offer with an unknown or duplicate parameter, or an invalid
/// value, is skipped rather than failing the handshake: the client may have sent a usable
/// fallback after it. Returns `None` when no offer is acceptable, in which case the response
/// names no permessage-deflate and messages are sent uncompressed.
///
/// The response names what the server will do: `server_no_context_takeover` when asked or
/// configured, `server_max_window_bits` as the smaller of the client's request and
/// [`DeflateConfig::server_max_window_bits`], `client_no_context_takeover` when offered or
/// configured, and `client_max_window_bits` when the offer carried it and the offer or
/// [`DeflateConfig::client_max_window_bits`] gives a value (the smaller when both do).
///
/// ```
/// use laputa_core::deflate::server_negotiate;
/// use laputa_core::extensions::parse_extensions;
/// use laputa_core::DeflateConfig;
///
/// let mut config = DeflateConfig::default();
/// config.server_max_window_bits = Some(12);
/// // The client asks for a server window of at most 10 bits.
/// let offers = parse_extensions("permessage-deflate; server_max_window_bits=10; client_max_window_bits")?;
/// let (params, answer) = server_negotiate(&offers, &config).expect("the offer is acceptable");
/// assert_eq!(answer.to_string(), "permessage-deflate; server_max_window_bits=10");
/// assert_eq!((params.server_max_window_bits, params.client_max_window_bits), (10, 15));
///
/// // Without a permessage-deflate offer, messages go uncompressed.
/// assert!(server_negotiate(&parse_extensions("x-foo")?, &config).is_none());
/// # Ok::<(), laputa_core::extensions::ExtensionError>(())
/// ```
pub fn server_negotiate(offers: &[Extension], config: &DeflateConfig) -> Option<(DeflateParams, Extension)> {
    offers
        .iter()
        .filter(|offer| offer.name.eq_ignore_ascii_case(PERMESSAGE_DEFLATE))
        .find_map(|offer| Request::parse(offer, false).ok())
        .map(|offer| {
            let server_max_window_bits = match (offer.server_max_window_bits, config.server_bits()) {
                (Some(asked), Some(ours)) => Some(asked.min(ours)),
                (asked, ours) => asked.or(ours),
            };
            let client_max_window_bits =
                offer.client_max_window_bits.and_then(|offered| match (offered, config.client_bits()) {
                    (Some(offered), Some(ours)) => Some(offered.min(ours)),
                    (offered, ours) => offered.or(ours),
                });
            let answer = Request {
                server_no_context_takeover: offer.server_no_context_takeover || config.server_no_context_takeover,
                client_no_context_takeover: offer.client_no_context_takeover || config.client_no_context_takeover,
                server_max_window_bits,
                client_max_window_bits: client_max_window_bits.map(Some),
            };
            let params = DeflateParams {
                server_no_context_takeover: answer.server_no_context_takeover,
                client_no_context_takeover: answer.client_no_context_takeover,
                server_max_window_bits: server_max_window_bits.unwrap_or(MAX_WINDOW_BITS),
                client_max_window_bits: client_max_window_bits.unwrap_or(MAX_WINDOW_BITS),
            };
            (params, answer.to_extension())
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extensions::{parse_extensions, write_extension};

    fn one(value: &str) -> Extension {
        let mut list = parse_extensions(value).unwrap();
        assert_eq!(list.len(), 1, "{value}");
        list.remove(0)
    }

    fn params(snct: bool, cnct: bool, sbits: u8, cbits: u8) -> DeflateParams {
        DeflateParams {
            server_no_context_takeover: snct,
            client_no_context_takeover: cnct,
            server_max_window_bits: sbits,
            client_max_window_bits: cbits,
        }
    }

    /// The server's answer to an offer header, as header text and parameters.
    fn negotiate(offer: &str, config: &DeflateConfig) -> Option<(DeflateParams, String)> {
        server_negotiate(&parse_extensions(offer).unwrap(), config).map(|(p, e)| (p, write_extension(&e)))
    }

    #[test]
    fn window_bits_values() {
        for (text, bits) in [("8", 8), ("9", 9), ("10", 10), ("15", 15)] {
            assert_eq!(parse_window_bits(text), Some(bits));
        }
        for text in ["", "7", "16", "08", "015", "15abc", "1 5", "+9", "-9", "99", "255", "256", "0", "9.0"] {
            assert_eq!(parse_window_bits(text), None, "{text}");
        }
    }

    #[test]
    fn param_validation() {
        let parse = |v: &str, response| Request::parse(&one(v), response);
        assert_eq!(
            parse("permessage-deflate; client_max_window_bits=15abc", false),
            Err(NegotiationError::InvalidValue { param: CLIENT_MAX_WINDOW_BITS.into(), value: "15abc".into() })
        );
        for bad in ["7", "16", "08", "0"] {
            let offer = format!("permessage-deflate; server_max_window_bits={bad}");
            assert!(matches!(parse(&offer, false), Err(NegotiationError::InvalidValue { .. })), "{offer}");
        }
        assert_eq!(
            parse("permessage-deflate; server_max_window_bits", false),
            Err(NegotiationError::MissingValue(SERVER_MAX_WINDOW_BITS.into()))
        );
        assert_eq!(
            parse("permessage-deflate; client_max_window_bits", true),
            Err(NegotiationError::MissingValue(CLIENT_MAX_WINDOW_BITS.into()))
        );
        assert_eq!(
            parse("permessage-deflate; server_no_context_takeover=1", false),
            Err(NegotiationError::UnexpectedValue(SERVER_NO_CONTEXT_TAKEOVER.into()))
        );
        assert_eq!(
            parse("permessage-deflate; client_no_context_takeover=x", false),
            Err(NegotiationError::UnexpectedValue(CLIENT_NO_CONTEXT_TAKEOVER.into()))
        );
        assert_eq!(
            parse("permessage-deflate; server_no_context_takeover; server_no_context_takeover", false),
            Err(NegotiationError::DuplicateParameter(SERVER_NO_CONTEXT_TAKEOVER.into()))
        );
        assert_eq!(
            parse("permessage-deflate; client_max_window_bits; client_max_window_bits=10", false),
            Err(NegotiationError::DuplicateParameter(CLIENT_MAX_WINDOW_BITS.into()))
        );
        assert_eq!(
            parse("permessage-deflate; x_unknown", false),
            Err(NegotiationError::UnknownParameter("x_unknown".into()))
        );
        // Quoted values are tokens once unquoted, so they are accepted like bare ones.
        assert_eq!(
            parse("permessage-deflate; Server_Max_Window_Bits=\"10\"", false).unwrap().server_max_window_bits,
            Some(10)
        );
    }

    /// RFC 7692 section 7.1.1, 7.1.2 and 5.2 examples, from both sides.
    #[test]
    fn rfc_examples_both_roles() {
        let default = DeflateConfig::default();

        // "permessage-deflate": accepted as is.
        let (p, response) = negotiate("permessage-deflate", &default).unwrap();
        assert_eq!(response, "permessage-deflate");
        assert_eq!(p, DeflateParams::default());

        // A client asking the server not to take over context, and to limit its window.
        let (p, response) =
            negotiate("permessage-deflate; server_no_context_takeover; server_max_window_bits=10", &default).unwrap();
        assert_eq!(response, "permessage-deflate; server_no_context_takeover; server_max_window_bits=10");
        assert_eq!(p, params(true, false, 10, 15));

        // "permessage-deflate; client_max_window_bits": the server may answer with a value.
        let limiting = DeflateConfig { client_max_window_bits: Some(10), ..DeflateConfig::default() };
        let (p, response) = negotiate("permessage-deflate; client_max_window_bits", &limiting).unwrap();
        assert_eq!(response, "permessage-deflate; client_max_window_bits=10");
        assert_eq!(p, params(false, false, 15, 10));
        let (p, response) = negotiate("permessage-deflate; client_max_window_bits", &default).unwrap();
        assert_eq!(response, "permessage-deflate");
        assert_eq!(p, DeflateParams::default());

        // Section 5.2's example offer list: the server picks the first it can accept.
        let offers = "permessage-deflate; client_max_window_bits=10, permessage-deflate";
        let (p, response) = negotiate(offers, &default).unwrap();
        assert_eq!(response, "permessage-deflate; client_max_window_bits=10");
        assert_eq!(p, params(false, false, 15, 10));

        // Client side: each of those responses is accepted by the matching client config.
        let client = DeflateConfig {
            server_no_context_takeover: true,
            server_max_window_bits: Some(10),
            ..DeflateConfig::default()
        };
        let offer = client_offer(&client);
        assert_eq!(
            offer,
            "permessage-deflate; server_no_context_takeover; server_max_window_bits=10; client_max_window_bits, \
             permessage-deflate; client_max_window_bits"
        );
        let (server_view, response) = negotiate(&offer, &default).unwrap();
        let client_view = client_accept(&one(&response), &client).unwrap();
        assert_eq!(client_view, server_view);
        assert_eq!(client_view, params(true, false, 10, 15));
    }

    #[test]
    fn server_skips_offers_it_cannot_take() {
        let default = DeflateConfig::default();
        // Unknown, duplicate and invalid parameters skip the offer; the fallback is taken.
        for bad in [
            "permessage-deflate; foo",
            "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
            "permessage-deflate; server_max_window_bits=7",
            "permessage-deflate; server_max_window_bits=16",
            "permessage-deflate; client_max_window_bits=15abc",
            "permessage-deflate; server_max_window_bits",
            "permessage-deflate; client_no_context_takeover=1",
        ] {
            assert_eq!(negotiate(bad, &default), None, "{bad}");
            let with_fallback = format!("{bad}, permessage-deflate; client_no_context_takeover");
            let (p, response) = negotiate(&with_fallback, &default).unwrap();
            assert_eq!(response, "permessage-deflate; client_no_context_takeover", "{bad}");
            assert_eq!(p, params(false, true, 15, 15));
        }
        // Other extensions are ignored, not fatal.
        let (_, response) = negotiate("x-webkit-deflate-frame, foo; bar=1, permessage-deflate", &default).unwrap();
        assert_eq!(response, "permessage-deflate");
        assert_eq!(negotiate("x-webkit-deflate-frame, foo", &default), None);
        assert_eq!(server_negotiate(&[], &default), None);
    }

    #[test]
    fn server_applies_its_config() {
        let config = DeflateConfig {
            server_no_context_takeover: true,
            client_no_context_takeover: true,
            server_max_window_bits: Some(12),
            client_max_window_bits: Some(11),
            ..DeflateConfig::default()
        };
        // Our limits, unasked where the RFC lets the server add them.
        let (p, response) = negotiate("permessage-deflate; client_max_window_bits", &config).unwrap();
        assert_eq!(
            response,
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
             server_max_window_bits=12; client_max_window_bits=11"
        );
        assert_eq!(p, params(true, true, 12, 11));
        // The smaller of the client's request and our limit.
        let (p, _) =
            negotiate("permessage-deflate; server_max_window_bits=10; client_max_window_bits=13", &config).unwrap();
        assert_eq!(p, params(true, true, 10, 11));
        let (p, _) =
            negotiate("permessage-deflate; server_max_window_bits=14; client_max_window_bits=9", &config).unwrap();
        assert_eq!(p, params(true, true, 12, 9));
        // Without client_max_window_bits in the offer the client cannot be limited: accepted at 15.
        let (p, response) = negotiate("permessage-deflate", &config).unwrap();
        assert_eq!(
            response,
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=12"
        );
        assert_eq!(p, params(true, true, 12, 15));
        // A client asking for 8 gets 8 (we compress with 9, whose matches stay within 250 bytes).
        let (p, response) =
            negotiate("permessage-deflate; server_max_window_bits=8", &DeflateConfig::default()).unwrap();
        assert_eq!(response, "permessage-deflate; server_max_window_bits=8");
        assert_eq!(p.server_max_window_bits, 8);
        // Configured 8 (and nonsense) is clamped to what zlib compresses with.
        let odd = DeflateConfig {
            server_max_window_bits: Some(8),
            client_max_window_bits: Some(200),
            ..DeflateConfig::default()
        };
        let (p, _) = negotiate("permessage-deflate; client_max_window_bits", &odd).unwrap();
        assert_eq!(p, params(false, false, 9, 15));
    }

    #[test]
    fn client_offers() {
        let mut config = DeflateConfig::default();
        assert_eq!(client_offer(&config), "permessage-deflate; client_max_window_bits");
        config.client_max_window_bits = Some(8);
        config.client_no_context_takeover = true;
        // Hints the server cannot refuse need no fallback.
        assert_eq!(client_offer(&config), "permessage-deflate; client_no_context_takeover; client_max_window_bits=9");
        config.server_max_window_bits = Some(12);
        assert_eq!(
            client_offer(&config),
            "permessage-deflate; client_no_context_takeover; server_max_window_bits=12; client_max_window_bits=9, \
             permessage-deflate; client_no_context_takeover; client_max_window_bits=9"
        );
        config.fallback_offer = false;
        assert_eq!(
            client_offer(&config),
            "permessage-deflate; client_no_context_takeover; server_max_window_bits=12; client_max_window_bits=9"
        );
        // Every offer we make parses back.
        assert!(parse_extensions(&client_offer(&config)).is_ok());
    }

    #[test]
    fn client_accepts_valid_responses() {
        let default = DeflateConfig::default();
        let accept = |response: &str, config: &DeflateConfig| client_accept(&one(response), config);
        assert_eq!(accept("permessage-deflate", &default), Ok(DeflateParams::default()));
        // The server may add its own parameters unasked.
        assert_eq!(
            accept(
                "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
                 server_max_window_bits=8; client_max_window_bits=8",
                &default
            ),
            Ok(params(true, true, 8, 8))
        );
        assert_eq!(
            accept("Permessage-Deflate; Client_Max_Window_Bits=\"12\"", &default),
            Ok(params(false, false, 15, 12))
        );
        // Our own no-context-takeover choice holds even if the server does not echo it.
        let own = DeflateConfig {
            client_no_context_takeover: true,
            client_max_window_bits: Some(11),
            ..DeflateConfig::default()
        };
        assert_eq!(accept("permessage-deflate", &own), Ok(params(false, true, 15, 11)));
        assert_eq!(accept("permessage-deflate; client_max_window_bits=10", &own), Ok(params(false, true, 15, 10)));
    }

    #[test]
    fn client_rejects_invalid_responses() {
        let default = DeflateConfig::default();
        let accept = |response: &str, config: &DeflateConfig| client_accept(&one(response), config);
        assert_eq!(
            accept("x-webkit-deflate-frame", &default),
            Err(NegotiationError::NotPermessageDeflate("x-webkit-deflate-frame".into()))
        );
        assert_eq!(accept("permessage-deflate; foo", &default), Err(NegotiationError::UnknownParameter("foo".into())));
        assert_eq!(
            accept("permessage-deflate; server_max_window_bits=10; server_max_window_bits=10", &default),
            Err(NegotiationError::DuplicateParameter(SERVER_MAX_WINDOW_BITS.into()))
        );
        for bad in ["7", "16", "15abc", "010", ""] {
            let response = format!("permessage-deflate; server_max_window_bits=\"{bad}\"");
            if bad.is_empty() {
                assert!(parse_extensions(&response).is_err());
                continue;
            }
            assert!(matches!(accept(&response, &default), Err(NegotiationError::InvalidValue { .. })), "{bad}");
        }
        assert_eq!(
            accept("permessage-deflate; client_max_window_bits", &default),
            Err(NegotiationError::MissingValue(CLIENT_MAX_WINDOW_BITS.into()))
        );

        // Requests without a fallback must be honoured.
        let strict = DeflateConfig {
            server_no_context_takeover: true,
            server_max_window_bits: Some(10),
            client_max_window_bits: Some(12),
            fallback_offer: false,
            ..DeflateConfig::default()
        };
        assert_eq!(
            accept("permessage-deflate; server_max_window_bits=10", &strict),
            Err(NegotiationError::NotHonoured(SERVER_NO_CONTEXT_TAKEOVER.into()))
        );
        assert_eq!(
            accept("permessage-deflate; server_no_context_takeover", &strict),
            Err(NegotiationError::NotHonoured(SERVER_MAX_WINDOW_BITS.into()))
        );
        assert_eq!(
            accept("permessage-deflate; server_no_context_takeover; server_max_window_bits=11", &strict),
            Err(NegotiationError::WindowTooLarge { param: SERVER_MAX_WINDOW_BITS.into(), offered: 10, answered: 11 })
        );
        assert_eq!(
            accept(
                "permessage-deflate; server_no_context_takeover; server_max_window_bits=9; client_max_window_bits=13",
                &strict
            ),
            Err(NegotiationError::WindowTooLarge { param: CLIENT_MAX_WINDOW_BITS.into(), offered: 12, answered: 13 })
        );
        assert_eq!(
            accept(
                "permessage-deflate; server_no_context_takeover; server_max_window_bits=9; client_max_window_bits=12",
                &strict
            ),
            Ok(params(true, false, 9, 12))
        );

        // With the fallback, a response that ignores the requests answers the second offer.
        let mut lenient = strict.clone();
        lenient.fallback_offer = true;
        assert_eq!(accept("permessage-deflate", &lenient), Ok(params(false, false, 15, 12)));
        assert_eq!(accept("permessage-deflate; server_max_window_bits=11", &lenient), Ok(params(false, false, 11, 12)));
        // ... but the client's own window limit holds for every offer.
        assert_eq!(
            accept("permessage-deflate; client_max_window_bits=13", &lenient),
            Err(NegotiationError::WindowTooLarge { param: CLIENT_MAX_WINDOW_BITS.into(), offered: 12, answered: 13 })
        );
    }

    #[test]
    fn both_sides_agree_for_every_config_pair() {
        let mut configs = Vec::new();
        for snct in [false, true] {
            for cnct in [false, true] {
                for sbits in [None, Some(8), Some(12)] {
                    for cbits in [None, Some(9), Some(15)] {
                        for fallback in [false, true] {
                            configs.push(DeflateConfig {
                                server_no_context_takeover: snct,
                                client_no_context_takeover: cnct,
                                server_max_window_bits: sbits,
                                client_max_window_bits: cbits,
                                fallback_offer: fallback,
                                ..DeflateConfig::default()
                            });
                        }
                    }
                }
            }
        }
        for client in &configs {
            for server in &configs {
                let offers = parse_extensions(&client_offer(client)).unwrap();
                let (server_view, response) = server_negotiate(&offers, server).expect("our offers are acceptable");
                let client_view = client_accept(&response, client).unwrap();
                // The client may reset its own compressor without the server knowing.
                let mut expected = server_view;
                expected.client_no_context_takeover |= client.client_no_context_takeover;
                assert_eq!(client_view, expected, "{client:?} / {server:?}");
                if let Some(bits) = client.client_max_window_bits {
                    assert!(client_view.client_max_window_bits <= clamp_window_bits(bits));
                }
                if let Some(bits) = server.server_max_window_bits {
                    assert!(server_view.server_max_window_bits <= clamp_window_bits(bits));
                }
                assert!(server_view.server_no_context_takeover >= server.server_no_context_takeover);
            }
        }
    }

    #[test]
    fn role_helpers() {
        let p = params(true, false, 10, 12);
        assert_eq!(p.send_window_bits(Role::Server), 10);
        assert_eq!(p.recv_window_bits(Role::Server), 12);
        assert_eq!(p.send_window_bits(Role::Client), 12);
        assert_eq!(p.recv_window_bits(Role::Client), 10);
        assert!(p.send_no_context_takeover(Role::Server));
        assert!(!p.recv_no_context_takeover(Role::Server));
        assert!(!p.send_no_context_takeover(Role::Client));
        assert!(p.recv_no_context_takeover(Role::Client));
    }
}
