//! HTTP/1.1 messages, sans-IO: bounded head readers for requests and responses, body framing
//! (RFC 9112 section 6), and head writers. Shared by the opening handshake, the proxy `CONNECT`
//! exchange and the connect flow.
