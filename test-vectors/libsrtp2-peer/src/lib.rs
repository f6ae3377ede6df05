//! Test-only: Debian's libsrtp2 2.5 (`apt-get install libsrtp2-dev`) behind a small safe
//! wrapper, [`Libsrtp2`], the second peer of the SRTP differential tests and benchmarks.
//!
//! `unsafe` is allowed in this crate, and only here, because it calls C. Each session is one
//! `srtp_t`, created by a C shim (`src/shim.c`) that builds libsrtp2's policy struct on the C
//! side, so no C struct layout is mirrored in Rust. Every call passes a buffer whose length
//! the wrapper checked against what libsrtp2 may write (its documented worst-case trailer).
//!
//! ```
//! use libsrtp2_peer::Libsrtp2;
//!
//! # if !libsrtp2_peer::installed() { return; } // built without libsrtp2-dev
//! let key_salt = [7u8; 16 + 12];
//! let mut tx = Libsrtp2::new(7, &key_salt, false, 64).unwrap(); // AEAD_AES_128_GCM
//! let mut rx = Libsrtp2::new(7, &key_salt, true, 64).unwrap();
//! let mut buf = [0u8; 12 + 5 + Libsrtp2::ROOM];
//! buf[..12].copy_from_slice(&[0x80, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 9]);
//! buf[12..17].copy_from_slice(b"hello");
//! let n = tx.protect(&mut buf, 17).unwrap();
//! assert_eq!(n, 17 + 16);
//! assert_eq!(rx.unprotect(&mut buf[..n]).unwrap(), 17);
//! assert_eq!(&buf[12..17], b"hello");
//! ```

#![deny(missing_docs)]

use core::ffi::{c_int, c_uchar, c_ulong, c_void};
use std::sync::Once;

#[repr(C)]
struct SrtpCtx {
    _opaque: [u8; 0],
}

unsafe extern "C" {
    fn peer_init() -> c_int;
    fn peer_create(
        out: *mut *mut SrtpCtx,
        profile: c_int,
        key_salt: *const c_uchar,
        inbound: c_int,
        window: c_ulong,
    ) -> c_int;
    fn peer_protect(s: *mut SrtpCtx, buf: *mut c_void, len: *mut c_int) -> c_int;
    fn peer_unprotect(s: *mut SrtpCtx, buf: *mut c_void, len: *mut c_int) -> c_int;
    fn peer_protect_rtcp(s: *mut SrtpCtx, buf: *mut c_void, len: *mut c_int) -> c_int;
    fn peer_unprotect_rtcp(s: *mut SrtpCtx, buf: *mut c_void, len: *mut c_int) -> c_int;
    fn peer_dealloc(s: *mut SrtpCtx);
}

static INIT: Once = Once::new();

/// A libsrtp2 error status (`srtp_err_status_t`; 7 is auth_fail, 9 replay_fail, 10
/// replay_old, 2 bad_param).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Status(pub i32);

/// Whether the system libsrtp2 was found when this crate was built. Without it every
/// [`Libsrtp2::new`] fails; callers skip their libsrtp2 comparisons and say so.
pub const fn installed() -> bool {
    !cfg!(libsrtp2_missing)
}

/// One libsrtp2 session (one direction, any SSRC).
#[derive(Debug)]
pub struct Libsrtp2 {
    ctx: *mut SrtpCtx,
}

// SAFETY: a libsrtp2 session is plain memory owned by this value; it is used by one thread at
// a time (every method takes `&mut self`).
unsafe impl Send for Libsrtp2 {}

fn c_len(len: usize) -> Result<c_int, Status> {
    c_int::try_from(len).map_err(|_| Status(2))
}

impl Libsrtp2 {
    /// Room libsrtp2 may write after a packet (`SRTP_MAX_TRAILER_LEN` + 4 for the SRTCP
    /// index).
    pub const ROOM: usize = 16 + 128 + 4;

    /// A session for `profile` (RFC 5764 / RFC 7714 number: 1 AES_CM_128_HMAC_SHA1_80, 2
    /// ..._32, 7 AEAD_AES_128_GCM, 8 AEAD_AES_256_GCM), master key then salt in `key_salt`;
    /// `inbound` for unprotecting, else protecting; replay window `window`.
    ///
    /// # Errors
    /// The libsrtp2 status, or bad_param (2) for key material of the wrong length.
    pub fn new(profile: i32, key_salt: &[u8], inbound: bool, window: u64) -> Result<Self, Status> {
        let needed = match profile {
            1 | 2 => 30,
            7 => 28,
            8 => 44,
            _ => return Err(Status(2)),
        };
        if key_salt.len() != needed {
            return Err(Status(2));
        }
        INIT.call_once(|| {
            // SAFETY: srtp_init takes no arguments; called once.
            unsafe { peer_init() };
        });
        let mut ctx = core::ptr::null_mut();
        // SAFETY: `ctx` is a valid out pointer; `key_salt` holds the `needed` bytes the shim
        // copies for this profile.
        let status = unsafe {
            peer_create(
                &mut ctx,
                profile,
                key_salt.as_ptr(),
                c_int::from(inbound),
                window as c_ulong,
            )
        };
        if status != 0 || ctx.is_null() {
            return Err(Status(status));
        }
        Ok(Self { ctx })
    }

    fn call(
        &mut self,
        f: unsafe extern "C" fn(*mut SrtpCtx, *mut c_void, *mut c_int) -> c_int,
        buf: &mut [u8],
        len: usize,
        room: usize,
    ) -> Result<usize, Status> {
        if buf.len() < len.saturating_add(room) {
            return Err(Status(2));
        }
        let mut n = c_len(len)?;
        // SAFETY: `buf` is valid for `len + room` bytes, the most libsrtp2 reads or writes
        // for a packet of `len` bytes; `self.ctx` is a live session.
        let status = unsafe { f(self.ctx, buf.as_mut_ptr().cast(), &mut n) };
        if status != 0 {
            return Err(Status(status));
        }
        usize::try_from(n).map_err(|_| Status(2))
    }

    /// Protects the RTP packet `buf[..len]` in place (`buf` has [`Libsrtp2::ROOM`] bytes
    /// more); returns the SRTP length.
    ///
    /// # Errors
    /// The libsrtp2 status.
    pub fn protect(&mut self, buf: &mut [u8], len: usize) -> Result<usize, Status> {
        self.call(peer_protect, buf, len, Self::ROOM)
    }

    /// Unprotects the SRTP packet `packet` in place; returns the RTP length.
    ///
    /// # Errors
    /// The libsrtp2 status.
    pub fn unprotect(&mut self, packet: &mut [u8]) -> Result<usize, Status> {
        let len = packet.len();
        self.call(peer_unprotect, packet, len, 0)
    }

    /// Protects the RTCP packet `buf[..len]` in place; returns the SRTCP length.
    ///
    /// # Errors
    /// The libsrtp2 status.
    pub fn protect_rtcp(&mut self, buf: &mut [u8], len: usize) -> Result<usize, Status> {
        self.call(peer_protect_rtcp, buf, len, Self::ROOM)
    }

    /// Unprotects the SRTCP packet `packet` in place; returns the RTCP length.
    ///
    /// # Errors
    /// The libsrtp2 status.
    pub fn unprotect_rtcp(&mut self, packet: &mut [u8]) -> Result<usize, Status> {
        let len = packet.len();
        self.call(peer_unprotect_rtcp, packet, len, 0)
    }
}

impl Drop for Libsrtp2 {
    fn drop(&mut self) {
        // SAFETY: `self.ctx` came from srtp_create and is freed once, here.
        unsafe { peer_dealloc(self.ctx) };
    }
}
