//! Fuzz target `decrypt`: arbitrary frames and metadata fed to a `Receiver` never panic, are
//! always rejected with a peer-input error that matches what the header says (the exact
//! `Header::parse` error, the exact `TruncatedFrame` lengths, or an error naming the header's
//! KID and CTR), and never change the receiver's state: afterwards it still decrypts a freshly
//! encrypted frame under one of its static KIDs and under the current step of its ratchet (the
//! sender may have ratcheted just before), and a replay of that good frame is `Error::Replay`.
//! The receiver holds real keys for five KIDs of every header length class plus a ratcheting
//! key, has its replay window on, and runs on one backend while its sender runs on the other,
//! for all 8 suites. The fuzzer holds no key, so a fuzzed frame that authenticates is a bug,
//! except under the 4-byte tags of the `_32` suites, where a lucky guess (2^-32) is by design;
//! the pair is then rebuilt so that the checks stay exact.
//!
//! Input: byte 0 selects `suite = b & 7`, `backend = (b >> 3) & 1`, `ratchet the sender first
//! = b & 0x10`, `static KID to check = (b >> 5) % 5`. Then up to 8 records:
//! `[m: u8][metadata: m & 0x7f bytes][n: u16 BE][frame: n bytes]` (each cut short at the end
//! of the input); `m & 0x80` feeds the frame through `Receiver::decrypt` (a `Vec`) instead of
//! `decrypt_in_place`.
#![no_main]

use std::cell::RefCell;

use libfuzzer_sys::fuzz_target;
use sframe_core::{
    Backend, CipherSuite, Header, RatchetKid, RatchetPolicy, Receiver, ReceiverConfig, Sender,
    SframeError as Error,
};

/// KIDs with a static key: compact (0, 7), one extended byte (8), two (0x123, the RFC 9605
/// vectors' KID, but under a key of our own) and eight.
const STATIC_KIDS: [u64; 5] = [0, 7, 8, 0x123, 0x0102_0304_0506_0708];
/// The ratchet: KIDs `0x90..=0x9f`.
const RATCHET_GENERATION: u64 = 9;
const RATCHET_R_BITS: u8 = 4;
const RATCHET_BASE_KEY: &[u8] = b"decrypt fuzz ratchet base key";
const REPLAY_WINDOW: u32 = 128;
const MAX_RECORDS: usize = 8;

/// A sender and a receiver sharing keys, kept for the whole process.
struct Pair {
    suite: CipherSuite,
    backend: Backend,
    sender: Sender,
    receiver: Receiver,
    /// The sender's current ratchet KID.
    ratchet_kid: u64,
}

fn static_base_key(kid: u64) -> Vec<u8> {
    format!("decrypt fuzz static base key {kid:#x}").into_bytes()
}

impl Pair {
    fn new(suite: CipherSuite, backend: Backend) -> Self {
        // The sender runs on the other backend (if two are compiled in): the checks below are
        // then also cross-backend interop checks.
        let sender_backend = Backend::ALL
            .iter()
            .copied()
            .find(|&b| b != backend)
            .unwrap_or(backend);
        let mut sender = Sender::with_backend(suite, sender_backend);
        let config = ReceiverConfig {
            replay_window: Some(REPLAY_WINDOW),
            ratchet: RatchetPolicy::default(),
        };
        let mut receiver = Receiver::with_config(suite, backend, config);
        for kid in STATIC_KIDS {
            let key = static_base_key(kid);
            sender
                .add_key(kid, &key)
                .unwrap_or_else(|e| panic!("sender add_key {kid}: {e}"));
            receiver
                .add_key(kid, &key)
                .unwrap_or_else(|e| panic!("receiver add_key {kid}: {e}"));
        }
        let ratchet_kid = sender
            .add_ratcheting_key(RATCHET_GENERATION, RATCHET_R_BITS, RATCHET_BASE_KEY)
            .unwrap_or_else(|e| panic!("sender add_ratcheting_key: {e}"));
        let at = RatchetKid::new(RATCHET_GENERATION, RATCHET_R_BITS, 0)
            .unwrap_or_else(|e| panic!("RatchetKid::new: {e}"));
        assert_eq!(at.kid(), ratchet_kid);
        receiver
            .add_ratcheting_key(at, RATCHET_BASE_KEY)
            .unwrap_or_else(|e| panic!("receiver add_ratcheting_key: {e}"));
        Self {
            suite,
            backend,
            sender,
            receiver,
            ratchet_kid,
        }
    }

    /// Encrypts `payload` under `kid` with the sender's next counter; the receiver must return
    /// it, and must then refuse the same frame as a replay.
    fn check_good_frame(&mut self, kid: u64, metadata: &[u8], payload: &[u8]) {
        let (suite, backend) = (self.suite.name(), self.backend.name());
        let ctr = self
            .sender
            .next_counter(kid)
            .unwrap_or_else(|e| panic!("next_counter: {e}"));
        let mut frame = payload.to_vec();
        self.sender
            .encrypt(kid, metadata, &mut frame)
            .unwrap_or_else(|e| panic!("{suite}/{backend}: encrypt under KID {kid:#x}: {e}"));
        let mut replay = frame.clone();
        match self.receiver.decrypt_in_place(metadata, &mut frame) {
            Ok(plaintext) => assert_eq!(
                plaintext, payload,
                "{suite}/{backend}: good frame KID {kid:#x} CTR {ctr} gave other plaintext"
            ),
            Err(e) => panic!(
                "{suite}/{backend}: receiver no longer decrypts a good frame, KID {kid:#x} \
                 CTR {ctr}: {e:?}"
            ),
        }
        assert_eq!(
            self.receiver
                .decrypt_in_place(metadata, &mut replay)
                .map(|p| p.len()),
            Err(Error::Replay { kid, ctr }),
            "{suite}/{backend}: a replayed good frame was not refused as a replay"
        );
    }
}

thread_local! {
    /// One pair per (suite, backend), built on first use.
    static PAIRS: RefCell<Vec<Option<Pair>>> = RefCell::new(
        std::iter::repeat_with(|| None).take(CipherSuite::ALL.len() * Backend::ALL.len()).collect(),
    );
}

/// One fuzzed frame and its metadata.
struct Record<'a> {
    metadata: &'a [u8],
    frame: &'a [u8],
    through_vec: bool,
}

fn records(mut rest: &[u8]) -> Vec<Record<'_>> {
    let mut out = Vec::new();
    while out.len() < MAX_RECORDS {
        let Some((&m, r)) = rest.split_first() else {
            break;
        };
        let (metadata, r) = r.split_at(usize::from(m & 0x7f).min(r.len()));
        let (n, r) = match r {
            [hi, lo, r @ ..] => (usize::from(u16::from_be_bytes([*hi, *lo])), r),
            _ => (r.len(), r),
        };
        let (frame, r) = r.split_at(n.min(r.len()));
        out.push(Record {
            metadata,
            frame,
            through_vec: m & 0x80 != 0,
        });
        rest = r;
    }
    out
}

/// Feeds one fuzzed frame. Returns `true` if it authenticated (a successful guess of a 4-byte
/// tag), after which the pair must be rebuilt.
fn feed(pair: &mut Pair, record: &Record<'_>) -> bool {
    let (suite, backend) = (pair.suite.name(), pair.backend.name());
    let tag_len = pair.suite.tag_len();
    let keys_before = pair.receiver.key_count();
    let mut buf = record.frame.to_vec();
    let result = if record.through_vec {
        pair.receiver
            .decrypt(record.metadata, &mut buf)
            .map(|()| buf.len())
    } else {
        pair.receiver
            .decrypt_in_place(record.metadata, &mut buf)
            .map(|p| p.len())
    };
    let frame = record.frame;
    match result {
        Ok(plain_len) => {
            let (_, header_len) = Header::parse(frame).unwrap_or_else(|e| {
                panic!("{suite}/{backend}: accepted a frame whose header fails: {e}")
            });
            assert_eq!(
                plain_len,
                frame.len() - header_len - tag_len,
                "plaintext length"
            );
            assert!(
                tag_len <= 4,
                "{suite}/{backend}: a frame made without any key authenticated: {frame:02x?} \
                 metadata {:02x?}",
                record.metadata
            );
            true
        }
        Err(e) => {
            assert!(
                e.is_peer_input(),
                "{suite}/{backend}: bad frame reported as misuse: {e:?}"
            );
            match Header::parse(frame) {
                Err(parse_error) => assert_eq!(e, parse_error, "not the header's own error"),
                Ok((_, header_len)) if frame.len() < header_len + tag_len => assert_eq!(
                    e,
                    Error::TruncatedFrame {
                        needed: header_len + tag_len,
                        available: frame.len()
                    }
                ),
                Ok((Header { kid, ctr }, _)) => match e {
                    Error::UnknownKid(k) | Error::RatchetOutOfWindow { kid: k } => {
                        assert_eq!(k, kid, "error names another KID");
                    }
                    Error::Replay { kid: k, ctr: c } => assert_eq!((k, c), (kid, ctr)),
                    Error::AuthenticationFailed => {}
                    other => panic!("{suite}/{backend}: unexpected error {other:?}"),
                },
            }
            assert_eq!(
                pair.receiver.key_count(),
                keys_before,
                "a rejected frame changed the keys"
            );
            false
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let suite_index = usize::from(selector & 0x07);
    let backend_index = usize::from((selector >> 3) & 1) % Backend::ALL.len();
    let ratchet_first = selector & 0x10 != 0;
    let check_kid = STATIC_KIDS[usize::from(selector >> 5) % STATIC_KIDS.len()];
    let suite = CipherSuite::ALL[suite_index];
    let backend = Backend::ALL[backend_index];
    let records = records(rest);

    PAIRS.with_borrow_mut(|pairs| {
        let slot = &mut pairs[suite_index * Backend::ALL.len() + backend_index];
        let mut pair = slot.take().unwrap_or_else(|| Pair::new(suite, backend));
        for record in &records {
            if feed(&mut pair, record) {
                pair = Pair::new(suite, backend);
            }
        }

        if ratchet_first {
            pair.ratchet_kid = pair
                .sender
                .ratchet(pair.ratchet_kid)
                .unwrap_or_else(|e| panic!("sender ratchet: {e}"));
        }
        // The good frames carry bytes of the input, and the first record's metadata.
        let metadata = records.first().map_or(&[][..], |r| r.metadata);
        let payload = &rest[..rest.len().min(64)];
        pair.check_good_frame(check_kid, metadata, payload);
        let ratchet_kid = pair.ratchet_kid;
        pair.check_good_frame(ratchet_kid, metadata, payload);
        *slot = Some(pair);
    });
});
