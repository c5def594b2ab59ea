//! laputa
