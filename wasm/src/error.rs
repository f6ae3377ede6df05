//! The crate's error: what the page asked for that could not be done.

use core::fmt;

/// Why a call from the page failed. Frame drops are not errors: they are counted
/// ([`TransformDrop`](crate::TransformDrop)).
#[derive(Debug)]
#[non_exhaustive]
pub enum SframeWasmError {
    /// No cipher suite has this RFC 9605 identifier.
    UnknownSuite(u32),
    /// No participant has this handle (never created, or freed).
    NoSuchParticipant(u32),
    /// The lengths given do not fit the input buffer or the data (caller misuse).
    BadInput(&'static str),
    /// The keyring refused (a stale or known epoch, a wrong key length, a bad layout).
    Keyring(sframe_mls::SframeMlsError),
    /// The SFrame core refused (known-answer entry points).
    Sframe(sframe_core::SframeError),
}

impl SframeWasmError {
    /// The negative number the exported functions return for this error: `-100` to `-104`
    /// (frame drops use `-1` to `-7`).
    pub const fn code(&self) -> i32 {
        match self {
            SframeWasmError::UnknownSuite(_) => -100,
            SframeWasmError::NoSuchParticipant(_) => -101,
            SframeWasmError::BadInput(_) => -102,
            SframeWasmError::Keyring(_) => -103,
            SframeWasmError::Sframe(_) => -104,
        }
    }
}

impl fmt::Display for SframeWasmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SframeWasmError::UnknownSuite(id) => write!(f, "no SFrame cipher suite {id:#06x}"),
            SframeWasmError::NoSuchParticipant(h) => write!(f, "no participant with handle {h}"),
            SframeWasmError::BadInput(what) => write!(f, "bad input: {what}"),
            SframeWasmError::Keyring(_) => f.write_str("the keyring refused"),
            SframeWasmError::Sframe(_) => f.write_str("the SFrame core refused"),
        }
    }
}

impl std::error::Error for SframeWasmError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SframeWasmError::Keyring(e) => Some(e),
            SframeWasmError::Sframe(e) => Some(e),
            _ => None,
        }
    }
}
