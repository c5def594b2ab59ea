//! HTTP authentication (RFC 9110 section 11): challenges and credentials for the Basic
//! (RFC 7617) and Digest (RFC 7616) schemes.
