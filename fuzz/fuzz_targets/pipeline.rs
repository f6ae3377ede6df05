//! Fuzz target `pipeline`: a sender (`MediaSender`, SFrame under a static KID, SRTP leg 1), an
//! SFU (`Sfu`, three keyed legs) and a receiver (`MediaReceiver`, SRTP leg 2), with genuine
//! frames (fuzzed sizes and an MTU that cuts them into several packets) and hostile traffic
//! interleaved by the input: packets on either hop delivered in any order, dropped,
//! duplicated or with a bit flipped; raw bytes as SRTP to the SFU or to the receiver; and a
//! third participant, Mallory, who holds her own SRTP leg but no SFrame key, sending RTP with
//! fuzzed SFrame payloads on her SSRC, single or as a storm of random sequence numbers.
//!
//! The ledger: every genuine frame carries its number. Nothing panics, and
//! - every frame the receiver hands out is a genuine frame, byte for byte, on the sender's
//!   SSRC, and no frame is handed out twice (never corrupted, never duplicated, never one of
//!   Mallory's);
//! - every frame that is given up comes out as `Dropped` with a cause, and the receiver's
//!   counters agree: frames handed out + frames dropped = frames the key source saw;
//! - a genuine frame whose packets all reached the receiver unmodified, each for the first
//!   time and in order with no other packet of its stream in between, is handed out (lost or
//!   reordered frames may be given up; a clean one never is, whatever Mallory did before);
//! - whatever is refused (flipped, forged, replayed) is refused with a peer-input error.
#![no_main]

use std::collections::HashMap;
use std::time::Duration;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use sframe_core::{CipherSuite, StaticKeys};
use sframe_rtp::{
    FrameMetadata, MediaReceiver, MediaReceiverConfig, MediaSender, MediaSenderConfig, Mode,
    ReceiveOutput, Sfu, SrtpContext, SrtpKeys, SrtpProfile, SrtpTransform,
};

const SSRC: u32 = 0x5e4d;
const SSRC_MALLORY: u32 = 0xbad;
const KID: u64 = 7;
const SUITE: CipherSuite = CipherSuite::Aes128GcmSha256_128;
const MAX_QUEUE: usize = 48;
const MAX_FRAMES: u32 = 64;
/// Fewer genuine packets than the receiver's replay and reorder windows (1,024): a genuine
/// packet is never refused for being too far behind.
const MAX_PACKETS: usize = 900;

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    profile: u8,
    /// The MTU: 120 + this (at most 1,143 + 120).
    mtu: u8,
    ops: Vec<Op<'a>>,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Action {
    Deliver,
    Drop,
    Duplicate,
    Flip { at: u16, mask: u8 },
}

#[derive(Arbitrary, Debug)]
enum Op<'a> {
    /// The sender sends a genuine frame of `4 + len % 3000` bytes.
    Send { len: u16, fill: u8 },
    /// Packet `pick % n` of the sender-to-SFU queue.
    Up { pick: u8, action: Action },
    /// Packet `pick % n` of the SFU-to-receiver queue.
    Down { pick: u8, action: Action },
    /// Raw bytes as SRTP to the SFU from the sender's or Mallory's leg, or to the receiver.
    Forged { to: u8, bytes: &'a [u8] },
    /// Mallory sends one keyed RTP packet with this sequence number, descriptor and payload.
    Mallory {
        seq: u16,
        descriptor: u8,
        payload: &'a [u8],
    },
    /// Mallory sends `4 * (1 + n % 64)` packets with pseudo-random sequence numbers.
    Storm { n: u8, seed: u32 },
}

fn keys(profile: SrtpProfile, leg: u8) -> SrtpKeys {
    SrtpKeys {
        profile,
        master_key: vec![leg; profile.key_len()],
        master_salt: vec![leg ^ 0x55; profile.salt_len()],
    }
}

/// Where a genuine packet belongs: its frame and its place in it.
#[derive(Clone, Copy, Debug)]
struct Tag {
    frame: u32,
    index: u16,
}

#[derive(Default)]
struct Ledger {
    /// Frame number -> its bytes.
    sent: Vec<Vec<u8>>,
    packets: Vec<u16>,
    delivered: Vec<bool>,
    /// Per frame, the indices of its packets the receiver accepted, in order; `None` once the
    /// frame did not arrive cleanly.
    arrivals: Vec<Option<Vec<u16>>>,
    /// The frame of the last genuine packet the receiver accepted.
    last_accepted: Option<u32>,
    dropped: u64,
}

struct World {
    profile: SrtpProfile,
    sender: MediaSender,
    sender_keys: StaticKeys,
    sfu: Sfu,
    receiver: MediaReceiver<StaticKeys>,
    receiver_keys: StaticKeys,
    mallory: SrtpContext,
    mallory_ts: u32,
    up: Vec<(Tag, Vec<u8>)>,
    down: Vec<(Tag, Vec<u8>)>,
    /// Sequence number -> tag, for the sender's packets.
    tags: HashMap<u16, Tag>,
    /// Downlink packets already handed to the receiver (to tell first deliveries).
    seen_down: HashMap<u16, u32>,
    ledger: Ledger,
    buf: Vec<u8>,
}

impl World {
    fn new(profile: SrtpProfile, mtu: usize) -> Self {
        let mut sender_keys = StaticKeys::new(SUITE);
        sender_keys
            .sender
            .add_key(KID, b"the static base key")
            .unwrap();
        let mut receiver_keys = StaticKeys::new(SUITE);
        receiver_keys
            .receiver
            .add_key(KID, b"the static base key")
            .unwrap();
        let mut sender = MediaSender::new(
            MediaSenderConfig {
                mode: Mode::PerFrame,
                mtu,
            },
            Box::new(SrtpContext::sender(&keys(profile, 1)).unwrap()),
        );
        sender.add_stream(SSRC, 100, KID, None).unwrap();
        let mut sfu = Sfu::new();
        let leg = |up: u8, down: u8| -> (Box<dyn SrtpTransform>, Box<dyn SrtpTransform>) {
            (
                Box::new(SrtpContext::receiver(&keys(profile, up), 1024).unwrap()),
                Box::new(SrtpContext::sender(&keys(profile, down)).unwrap()),
            )
        };
        let (i, o) = leg(1, 11);
        sfu.add_participant(1, i, o, &[SSRC]).unwrap();
        let (i, o) = leg(2, 12);
        sfu.add_participant(2, i, o, &[]).unwrap();
        let (i, o) = leg(3, 13);
        sfu.add_participant(3, i, o, &[SSRC_MALLORY]).unwrap();
        let mut receiver = MediaReceiver::new(
            MediaReceiverConfig::default(),
            Box::new(SrtpContext::receiver(&keys(profile, 12), 1024).unwrap()),
        );
        receiver.add_stream(SSRC);
        receiver.add_stream(SSRC_MALLORY);
        Self {
            profile,
            sender,
            sender_keys,
            sfu,
            receiver,
            receiver_keys,
            mallory: SrtpContext::sender(&keys(profile, 3)).unwrap(),
            mallory_ts: 0,
            up: Vec::new(),
            down: Vec::new(),
            tags: HashMap::new(),
            seen_down: HashMap::new(),
            ledger: Ledger::default(),
            buf: vec![0u8; 2048],
        }
    }

    fn send(&mut self, len: u16, fill: u8) {
        let number = self.ledger.sent.len() as u32;
        if number >= MAX_FRAMES || self.up.len() >= MAX_QUEUE || self.tags.len() + 40 > MAX_PACKETS
        {
            return;
        }
        let mut frame = number.to_be_bytes().to_vec();
        frame.extend((0..usize::from(len) % 3000).map(|i| fill.wrapping_add(i as u8)));
        let meta = FrameMetadata {
            payload_type: 96,
            timestamp: number * 3000,
            marker: true,
            ..Default::default()
        };
        let n = self
            .sender
            .send_frame(&mut self.sender_keys, SSRC, &frame, &meta)
            .unwrap();
        let mut index = 0u16;
        while let Some(t) = self.sender.poll_transmit(&mut self.buf).unwrap() {
            let wire = self.buf[..t.len].to_vec();
            let seq = u16::from_be_bytes([wire[2], wire[3]]);
            let tag = Tag {
                frame: number,
                index,
            };
            self.tags.insert(seq, tag);
            self.up.push((tag, wire));
            index += 1;
        }
        assert_eq!(usize::from(index), n);
        self.ledger.sent.push(frame);
        self.ledger.packets.push(index);
        self.ledger.delivered.push(false);
        self.ledger.arrivals.push(Some(Vec::new()));
    }

    /// The SFU handles a packet from `from`; its copy for the receiver is queued.
    fn to_sfu(&mut self, from: u32, wire: &[u8], genuine: bool) {
        match self.sfu.receive(from, wire) {
            Ok(f) => {
                assert!(genuine || from == 3, "a forged packet was forwarded");
                for (to, copy) in f.out {
                    if to == 2 && self.down.len() < MAX_QUEUE {
                        let seq = u16::from_be_bytes([copy[2], copy[3]]);
                        let tag = match (from, self.tags.get(&seq)) {
                            (1, Some(&t)) => t,
                            _ => Tag {
                                frame: u32::MAX,
                                index: 0,
                            },
                        };
                        self.down.push((tag, copy));
                    }
                }
            }
            Err(e) => {
                assert!(e.is_peer_input(), "{e:?}");
                // A genuine packet of the sender is refused only as a replay (a duplicate,
                // or one delivered so late that the window moved past it).
                if genuine && from == 1 {
                    assert!(
                        matches!(
                            e,
                            sframe_rtp::SframeRtpError::Srtp(sframe_rtp::SrtpError::Replay { .. })
                        ),
                        "{e:?}"
                    );
                }
            }
        }
    }

    fn to_receiver(&mut self, tag: Tag, wire: &mut [u8], genuine: bool) {
        let seq = match wire.get(2..4) {
            Some(&[a, b]) => u16::from_be_bytes([a, b]),
            _ => 0,
        };
        let first = genuine && tag.frame != u32::MAX && !self.seen_down.contains_key(&seq);
        let r = self
            .receiver
            .handle_packet(&mut self.receiver_keys, Duration::ZERO, wire);
        match r {
            Ok(()) if genuine && tag.frame != u32::MAX => {
                if first {
                    self.seen_down.insert(seq, tag.frame);
                }
                self.accepted(tag, first);
            }
            Ok(()) => assert!(genuine, "a forged packet passed SRTP at the receiver"),
            Err(e) => {
                assert!(e.is_peer_input(), "{e:?}");
                if first {
                    self.spoil(tag.frame);
                }
            }
        }
        self.drain();
    }

    /// Bookkeeping of a genuine packet of the sender accepted by the receiver.
    fn accepted(&mut self, tag: Tag, first: bool) {
        let frame = tag.frame as usize;
        if self.ledger.last_accepted.is_some_and(|f| f != tag.frame) {
            // Another frame's packet came in between: the previous frame, if unfinished, is
            // no longer clean.
            if let Some(prev) = self.ledger.last_accepted {
                let done = self.ledger.arrivals[prev as usize]
                    .as_ref()
                    .is_some_and(|a| a.len() == usize::from(self.ledger.packets[prev as usize]));
                if !done {
                    self.spoil(prev);
                }
            }
        }
        self.ledger.last_accepted = Some(tag.frame);
        let expected = self.ledger.arrivals[frame].as_ref().map(|a| a.len());
        if !first || expected != Some(usize::from(tag.index)) {
            self.spoil(tag.frame);
        } else if let Some(a) = self.ledger.arrivals[frame].as_mut() {
            a.push(tag.index);
        }
    }

    fn spoil(&mut self, frame: u32) {
        self.ledger.arrivals[frame as usize] = None;
    }

    fn drain(&mut self) {
        while let Some(out) = self.receiver.poll_output(&mut self.receiver_keys) {
            match out {
                ReceiveOutput::Frame(f) => {
                    assert_eq!(
                        f.place.ssrc, SSRC,
                        "a frame on Mallory's SSRC was handed out"
                    );
                    assert_eq!(f.header.kid, KID);
                    let number = u32::from_be_bytes(f.data[..4].try_into().unwrap()) as usize;
                    assert_eq!(
                        f.data,
                        &self.ledger.sent[number][..],
                        "frame {number} corrupted"
                    );
                    assert!(
                        !self.ledger.delivered[number],
                        "frame {number} handed out twice"
                    );
                    self.ledger.delivered[number] = true;
                }
                ReceiveOutput::Dropped(_) => self.ledger.dropped += 1,
                ReceiveOutput::KeySource(e) => match e {},
            }
        }
    }

    fn hop(&mut self, down: bool, pick: u8, action: Action) {
        let queue = if down { &mut self.down } else { &mut self.up };
        if queue.is_empty() {
            return;
        }
        let i = usize::from(pick) % queue.len();
        let (tag, mut wire) = match action {
            Action::Duplicate => queue[i].clone(),
            _ => queue.remove(i),
        };
        let genuine = match action {
            Action::Drop => {
                if tag.frame != u32::MAX {
                    self.spoil(tag.frame);
                }
                return;
            }
            Action::Flip { at, mask } => {
                let at = usize::from(at) % wire.len();
                wire[at] ^= mask | 1;
                if tag.frame != u32::MAX {
                    self.spoil(tag.frame);
                }
                false
            }
            Action::Deliver | Action::Duplicate => true,
        };
        if down {
            self.to_receiver(tag, &mut wire, genuine);
        } else {
            self.to_sfu(1, &wire, genuine);
        }
    }

    fn mallory(&mut self, seq: u16, descriptor: u8, payload: &[u8]) {
        self.mallory_ts = self.mallory_ts.wrapping_add(90);
        let mut plain = vec![0x80, 0xe0];
        plain.extend_from_slice(&seq.to_be_bytes());
        plain.extend_from_slice(&self.mallory_ts.to_be_bytes());
        plain.extend_from_slice(&SSRC_MALLORY.to_be_bytes());
        plain.push(descriptor);
        plain.extend_from_slice(&payload[..payload.len().min(1000)]);
        let n = plain.len();
        let mut wire = vec![0u8; n + self.profile.overhead()];
        wire[..n].copy_from_slice(&plain);
        let Ok(n) = self.mallory.protect(&mut wire, n) else {
            return;
        };
        wire.truncate(n);
        self.to_sfu(3, &wire, false);
    }

    fn run(&mut self, op: &Op<'_>) {
        match *op {
            Op::Send { len, fill } => self.send(len, fill),
            Op::Up { pick, action } => self.hop(false, pick, action),
            Op::Down { pick, action } => self.hop(true, pick, action),
            Op::Forged { to, bytes } => {
                let mut raw = bytes.to_vec();
                match to % 3 {
                    0 => self.to_sfu(1, &raw, false),
                    1 => self.to_sfu(3, &raw, false),
                    _ => {
                        let tag = Tag {
                            frame: u32::MAX,
                            index: 0,
                        };
                        if !raw.is_empty() {
                            self.to_receiver(tag, &mut raw, false);
                        }
                    }
                }
            }
            Op::Mallory {
                seq,
                descriptor,
                payload,
            } => self.mallory(seq, descriptor, payload),
            Op::Storm { n, seed } => {
                let mut x = seed | 1;
                for _ in 0..4 * (1 + usize::from(n % 64)) {
                    x ^= x << 13;
                    x ^= x >> 17;
                    x ^= x << 5;
                    self.mallory(x as u16, (x >> 16) as u8, &x.to_be_bytes());
                    // Mallory's packets reach the receiver at once.
                    while let Some((tag, mut wire)) = self.down.pop() {
                        if tag.frame == u32::MAX {
                            self.to_receiver(tag, &mut wire, true);
                        } else {
                            self.down.push((tag, wire));
                            break;
                        }
                    }
                }
            }
        }
    }

    /// Lets every clean, complete frame be checked.
    fn finish(&mut self) {
        self.drain();
        let stats = self.receiver.stats();
        let delivered = self.ledger.delivered.iter().filter(|&&d| d).count() as u64;
        // Per-frame mode: every frame the key source opened is handed out; every frame it
        // refused comes out as a drop with its cause.
        assert_eq!(stats.frames, delivered, "{stats:?}");
        assert_eq!(stats.sframe_decrypted, delivered, "{stats:?}");
        assert_eq!(stats.sframe_failures, self.ledger.dropped, "{stats:?}");
        assert_eq!(stats.codec_failures, 0, "{stats:?}");
        for (number, arrivals) in self.ledger.arrivals.iter().enumerate() {
            let clean = arrivals
                .as_ref()
                .is_some_and(|a| a.len() == usize::from(self.ledger.packets[number]));
            if clean {
                assert!(
                    self.ledger.delivered[number],
                    "clean frame {number} not handed out"
                );
            }
        }
    }
}

fuzz_target!(|input: Input<'_>| {
    let profile = SrtpProfile::ALL[usize::from(input.profile) % SrtpProfile::ALL.len()];
    let mut world = World::new(profile, 120 + usize::from(input.mtu) * 4);
    for op in input.ops.iter().take(512) {
        world.run(op);
    }
    world.finish();
});
