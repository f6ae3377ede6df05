//! What the benchmarks compare, shared by the criterion benches and `sframe bench`.
//!
//! A [`Contender`] is one implementation of one suite at one frame size, set up once (keys
//! expanded, buffers allocated) so that each call to [`Contender::encrypt`] or
//! [`Contender::decrypt`] measures one frame and nothing else:
//! - `ours/<backend>`: `sframe-core`, in place (`Sender::encrypt_in_place`,
//!   `Receiver::decrypt_in_place`, no replay window);
//! - `aead/<backend>`: the raw AEAD of the same backend with the key expanded once (aws-lc-rs
//!   `LessSafeKey`, RustCrypto `aes-gcm`; for the CTR+HMAC suites, which no library offers,
//!   `sframe_core::Aead`), sealing the same bytes with a header-sized AAD: the floor;
//! - `peer/ring`: the crates.io `sframe` crate on its default (ring) backend, GCM suites only.
//!
//! Decryption is in place, so it needs a fresh ciphertext each time: [`Contender::decrypt`]
//! takes a frame produced beforehand by [`Contender::prepare_decrypt`] (copied outside the
//! timed region).

#![forbid(unsafe_code)]
#![allow(missing_docs, missing_debug_implementations)]

pub mod quick;
pub mod send_path;
pub mod sfu;
pub mod srtp;

use sframe_core::{Backend, CipherSuite, Header, MAX_HEADER_LEN, Receiver, ReceiverConfig, Sender};

/// Frame sizes every bench runs (bytes of plaintext).
pub const SIZES: [usize; 5] = [32, 160, 1_200, 10_000, 100_000];

const KID: u64 = 0x123;
const BASE_KEY: &[u8; 16] = b"benchmark base k";

/// One implementation of one suite at one size.
pub trait Contender {
    /// A label such as `ours/aws-lc-rs`.
    fn name(&self) -> String;
    /// Encrypts one frame of the configured size.
    fn encrypt(&mut self);
    /// A frame ready for [`Contender::decrypt`]: copy it into the working buffer untimed.
    fn prepare_decrypt(&mut self) -> Vec<u8>;
    /// Decrypts `frame` (produced by `prepare_decrypt`), in place where the API allows.
    fn decrypt(&mut self, frame: &mut [u8]);
}

/// Every contender for `suite` at `size`.
pub fn contenders(suite: CipherSuite, size: usize) -> Vec<Box<dyn Contender>> {
    let mut all: Vec<Box<dyn Contender>> = Vec::new();
    for &backend in Backend::ALL {
        all.push(Box::new(Ours::new(suite, backend, size)));
        all.push(Box::new(RawAead::new(suite, backend, size)));
    }
    if let Some(peer) = Peer::new(suite, size) {
        all.push(Box::new(peer));
    }
    all
}

/// `sframe-core`, in place.
pub struct Ours {
    backend: Backend,
    sender: Sender,
    receiver: Receiver,
    buf: Vec<u8>,
    size: usize,
}

impl Ours {
    pub fn new(suite: CipherSuite, backend: Backend, size: usize) -> Self {
        let mut sender = Sender::with_backend(suite, backend);
        let mut receiver = Receiver::with_config(
            suite,
            backend,
            ReceiverConfig {
                replay_window: None,
                ..ReceiverConfig::default()
            },
        );
        // Cannot fail: fresh KIDs and a non-empty key.
        let _ = sender.add_key(KID, BASE_KEY);
        let _ = receiver.add_key(KID, BASE_KEY);
        let buf = vec![0x42; MAX_HEADER_LEN + size + suite.tag_len()];
        Self {
            backend,
            sender,
            receiver,
            buf,
            size,
        }
    }
}

impl Contender for Ours {
    fn name(&self) -> String {
        format!("ours/{}", self.backend.name())
    }

    #[inline]
    fn encrypt(&mut self) {
        let range = MAX_HEADER_LEN..MAX_HEADER_LEN + self.size;
        let frame = self.sender.encrypt_in_place(KID, &[], &mut self.buf, range);
        debug_assert!(frame.is_ok());
        std::hint::black_box(frame.map(|f| f.len()).unwrap_or(0));
    }

    fn prepare_decrypt(&mut self) -> Vec<u8> {
        let mut frame = vec![0x42; self.size];
        let _ = self.sender.encrypt(KID, &[], &mut frame);
        frame
    }

    #[inline]
    fn decrypt(&mut self, frame: &mut [u8]) {
        let plain = self.receiver.decrypt_in_place(&[], frame);
        debug_assert!(plain.is_ok());
        std::hint::black_box(plain.map(|p| p.len()).unwrap_or(0));
    }
}

/// The raw AEAD of a backend, key expanded once.
pub struct RawAead {
    backend: Backend,
    aead: RawKey,
    nonce: [u8; 12],
    aad: Vec<u8>,
    buf: Vec<u8>,
}

enum RawKey {
    AwsLc(aws_lc_rs::aead::LessSafeKey),
    RustCrypto128(Box<aes_gcm::Aes128Gcm>),
    RustCrypto256(Box<aes_gcm::Aes256Gcm>),
    /// CTR+HMAC: the construction itself, no library has it.
    Ours(sframe_core::Aead),
}

impl RawAead {
    pub fn new(suite: CipherSuite, backend: Backend, size: usize) -> Self {
        use aes_gcm::KeyInit;
        let key = vec![7u8; suite.key_len()];
        let is_gcm = suite.enc_key_len().is_none();
        let aead = match (backend, is_gcm, suite.key_len()) {
            (Backend::AwsLc, true, len) => {
                let alg = if len == 16 {
                    &aws_lc_rs::aead::AES_128_GCM
                } else {
                    &aws_lc_rs::aead::AES_256_GCM
                };
                match aws_lc_rs::aead::UnboundKey::new(alg, &key) {
                    Ok(k) => RawKey::AwsLc(aws_lc_rs::aead::LessSafeKey::new(k)),
                    Err(_) => unreachable_key(),
                }
            }
            (Backend::RustCrypto, true, 16) => match aes_gcm::Aes128Gcm::new_from_slice(&key) {
                Ok(k) => RawKey::RustCrypto128(Box::new(k)),
                Err(_) => unreachable_key(),
            },
            (Backend::RustCrypto, true, _) => match aes_gcm::Aes256Gcm::new_from_slice(&key) {
                Ok(k) => RawKey::RustCrypto256(Box::new(k)),
                Err(_) => unreachable_key(),
            },
            (backend, _, _) => match sframe_core::Aead::new(backend, suite, &key) {
                Ok(a) => RawKey::Ours(a),
                Err(_) => unreachable_key(),
            },
        };
        // A header-sized AAD, as an SFrame frame without metadata has.
        let aad = Header::new(KID, 0x4567).to_bytes().as_ref().to_vec();
        Self {
            backend,
            aead,
            nonce: [9; 12],
            aad,
            buf: vec![0x42; size + suite.tag_len()],
        }
    }

    fn seal(&self, buf: &mut [u8]) {
        let tag_start = buf.len() - tag_len(&self.aead);
        match &self.aead {
            RawKey::AwsLc(k) => {
                let (text, tag_out) = buf.split_at_mut(tag_start);
                let nonce = aws_lc_rs::aead::Nonce::assume_unique_for_key(self.nonce);
                if let Ok(tag) = k.seal_in_place_separate_tag(
                    nonce,
                    aws_lc_rs::aead::Aad::from(&self.aad[..]),
                    text,
                ) {
                    tag_out.copy_from_slice(tag.as_ref());
                }
            }
            RawKey::RustCrypto128(k) => rc_seal(&**k, &self.nonce, &self.aad, buf),
            RawKey::RustCrypto256(k) => rc_seal(&**k, &self.nonce, &self.aad, buf),
            RawKey::Ours(a) => {
                let _ = a.seal_in_place(&self.nonce, &self.aad, buf);
            }
        }
    }
}

fn unreachable_key() -> ! {
    panic!("benchmark key setup failed")
}

fn tag_len(key: &RawKey) -> usize {
    match key {
        RawKey::Ours(a) => a.suite().tag_len(),
        _ => 16,
    }
}

fn rc_seal<A: aes_gcm::aead::AeadInOut<NonceSize = aes_gcm::aead::consts::U12>>(
    k: &A,
    nonce: &[u8; 12],
    aad: &[u8],
    buf: &mut [u8],
) {
    let tag_start = buf.len() - 16;
    let (text, tag_out) = buf.split_at_mut(tag_start);
    if let Ok(tag) = k.encrypt_inout_detached(&(*nonce).into(), aad, text.into()) {
        tag_out.copy_from_slice(&tag);
    }
}

fn rc_open<
    A: aes_gcm::aead::AeadInOut<
            NonceSize = aes_gcm::aead::consts::U12,
            TagSize = aes_gcm::aead::consts::U16,
        >,
>(
    k: &A,
    nonce: &[u8; 12],
    aad: &[u8],
    buf: &mut [u8],
) -> bool {
    let tag_start = buf.len() - 16;
    let (text, tag) = buf.split_at_mut(tag_start);
    let Ok(tag) = <[u8; 16]>::try_from(&*tag) else {
        return false;
    };
    k.decrypt_inout_detached(&(*nonce).into(), aad, text.into(), &tag.into())
        .is_ok()
}

impl Contender for RawAead {
    fn name(&self) -> String {
        format!("aead/{}", self.backend.name())
    }

    #[inline]
    fn encrypt(&mut self) {
        let mut buf = std::mem::take(&mut self.buf);
        self.seal(&mut buf);
        std::hint::black_box(&buf);
        self.buf = buf;
    }

    fn prepare_decrypt(&mut self) -> Vec<u8> {
        let mut frame = vec![0x42; self.buf.len()];
        self.seal(&mut frame);
        frame
    }

    #[inline]
    fn decrypt(&mut self, frame: &mut [u8]) {
        let ok = match &self.aead {
            RawKey::AwsLc(k) => {
                let nonce = aws_lc_rs::aead::Nonce::assume_unique_for_key(self.nonce);
                k.open_in_place(nonce, aws_lc_rs::aead::Aad::from(&self.aad[..]), frame)
                    .is_ok()
            }
            RawKey::RustCrypto128(k) => rc_open(&**k, &self.nonce, &self.aad, frame),
            RawKey::RustCrypto256(k) => rc_open(&**k, &self.nonce, &self.aad, frame),
            RawKey::Ours(a) => a.open_in_place(&self.nonce, &self.aad, frame).is_ok(),
        };
        debug_assert!(ok);
        std::hint::black_box(ok);
    }
}

/// The crates.io `sframe` crate (2.1, default ring backend): the GCM suites only.
pub struct Peer {
    enc: sframe_peer::key::EncryptionKey,
    dec: sframe_peer::key::DecryptionKey,
    counter: sframe_peer::frame::PanickingMonotonicCounter,
    payload: Vec<u8>,
    out: Vec<u8>,
}

impl Peer {
    pub fn new(suite: CipherSuite, size: usize) -> Option<Self> {
        let peer_suite = match suite {
            CipherSuite::Aes128GcmSha256_128 => sframe_peer::CipherSuite::AesGcm128Sha256,
            CipherSuite::Aes256GcmSha512_128 => sframe_peer::CipherSuite::AesGcm256Sha512,
            _ => return None,
        };
        let enc = sframe_peer::key::EncryptionKey::derive_from(peer_suite, KID, BASE_KEY).ok()?;
        let dec = sframe_peer::key::DecryptionKey::derive_from(peer_suite, KID, BASE_KEY).ok()?;
        Some(Self {
            enc,
            dec,
            counter: sframe_peer::frame::PanickingMonotonicCounter::default(),
            payload: vec![0x42; size],
            out: Vec::with_capacity(size + 64),
        })
    }
}

impl Contender for Peer {
    fn name(&self) -> String {
        "peer/ring".to_owned()
    }

    #[inline]
    fn encrypt(&mut self) {
        let view = sframe_peer::frame::MediaFrameView::new(&mut self.counter, &self.payload);
        let frame = view.encrypt_into(&self.enc, &mut self.out);
        debug_assert!(frame.is_ok());
        std::hint::black_box(frame.is_ok());
    }

    fn prepare_decrypt(&mut self) -> Vec<u8> {
        let view = sframe_peer::frame::MediaFrameView::new(&mut self.counter, &self.payload);
        view.encrypt(&self.enc)
            .map(|f| f.as_ref().to_vec())
            .unwrap_or_default()
    }

    #[inline]
    fn decrypt(&mut self, frame: &mut [u8]) {
        let ok = sframe_peer::frame::EncryptedFrameView::try_new(&*frame)
            .and_then(|view| view.decrypt_into(&self.dec, &mut self.out).map(|_| ()))
            .is_ok();
        debug_assert!(ok);
        std::hint::black_box(ok);
    }
}
