#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets from the RFC 9605 test vectors.

    python3 fuzz/seed.py            # from anywhere; writes fuzz/corpus/<target>/seed-*
    python3 fuzz/seed.py keyring    # only the seeds of the targets named

- header:    the 289 encoded headers of the vectors' `header` section, and the header (plus
             the rest) of each `sframe` frame.
- decrypt:   each `sframe` frame with its metadata, in the input format described at the top
             of fuzz_targets/decrypt.rs; and, for every suite and both backends, frames shaped
             like the target's real traffic (headers of its static KIDs and ratchet KIDs, the
             suite's tag length) but with bytes that do not authenticate (no key needed here,
             and a frame that did authenticate would break the target's replay-window checks).
- roundtrip: the `sframe` vectors' (suite, KID, CTR, base key, metadata, plaintext), and the
             same for suites 6-8, encoded the way `arbitrary` 1.x decodes the target's `Input`
             (check with `cargo fuzz fmt roundtrip <file>`).
- depacketize: operation sequences (`Arb` below writes `arbitrary`'s format): frames cut by the
             packetizer delivered in order, reversed, shuffled, with a duplicate or a loss, on
             several streams; S/middle/E runs built from fields with CSRCs, RFC 8285 extensions
             and padding; real RTP packets as raw bytes; flush and stream removal.
- keyring:   operation sequences: the lib.rs example (two epochs, acknowledgement, switch), a
             frame buffered until its epoch arrives, rollover with E = 1, buffer overflow and
             expiry, mutated and arbitrary frames, clear; S changing with the roster, a fixed
             S, E = 20 with max_epochs 3, E + S past 64.

Seed files are named by content hash, so running this again rewrites the same files.
"""

import hashlib
import json
import random
import struct
import sys
from pathlib import Path

FUZZ = Path(__file__).resolve().parent
VECTORS = FUZZ.parent / "test-vectors" / "vectors" / "test-vectors.json"
CORPUS = FUZZ / "corpus"
TARGETS = set(sys.argv[1:])

# Nt of suites 1..8 (RFC 9605 section 4.5 and the AES-256-CTR-HMAC suites 6..8).
TAG_LEN = {1: 10, 2: 8, 3: 4, 4: 16, 5: 16, 6: 10, 7: 8, 8: 4}
# Must match fuzz_targets/decrypt.rs.
STATIC_KIDS = [0, 7, 8, 0x123, 0x0102_0304_0506_0708]
RATCHET_KIDS = [0x90, 0x91, 0x95, 0x9F]


def ext(v: int) -> bytes:
    """The extended big-endian bytes of a value (empty when it fits in the config byte)."""
    if v < 8:
        return b""
    return v.to_bytes((v.bit_length() + 7) // 8, "big")


def header(kid: int, ctr: int) -> bytes:
    k, c = ext(kid), ext(ctr)
    config = (0x80 | (len(k) - 1) << 4) if k else kid << 4
    config |= (0x08 | (len(c) - 1)) if c else ctr
    return bytes([config]) + k + c


def write(target: str, data: bytes) -> None:
    if TARGETS and target not in TARGETS:
        return
    d = CORPUS / target
    d.mkdir(parents=True, exist_ok=True)
    (d / ("seed-" + hashlib.sha1(data).hexdigest())).write_bytes(data)


def decrypt_input(suite: int, backend: int, ratchet: bool, check: int, records) -> bytes:
    """records: (metadata, frame, through_vec) triples."""
    out = bytearray([(suite - 1) | backend << 3 | (0x10 if ratchet else 0) | check << 5])
    for metadata, frame, through_vec in records:
        assert len(metadata) < 0x80 and len(frame) < 0x10000
        out.append(len(metadata) | (0x80 if through_vec else 0))
        out += metadata + struct.pack(">H", len(frame)) + frame
    return bytes(out)


def roundtrip_input(suite, flags, kid, ctr, key, flip, metadata_flip, metadata, payload) -> bytes:
    assert 1 <= len(key) <= 32
    fixed = struct.pack("<BBQQB", suite - 1, flags, kid, ctr, len(key) - 1)
    fixed += key.ljust(32, b"\0") + struct.pack("<IH", flip, metadata_flip)
    body = metadata + payload
    # `&[u8]` takes its length from the end of the data: one byte while the remaining data is
    # at most 256 bytes, else two (big-endian), taken modulo (remaining - suffix + 1).
    if len(body) + 1 <= 256:
        suffix = bytes([len(metadata)])
    else:
        assert len(body) + 2 <= 0xFFFF + 2
        suffix = struct.pack(">H", len(metadata))
    return fixed + body + suffix


class Arb:
    """Writes values in the byte format `arbitrary` 1.x reads them in, for a derived struct
    whose last field is taken with `arbitrary_take_rest` (how `fuzz_target!` builds its input).

    Integers are little-endian; `bool` is one byte (bit 0); `Option` a bool and the value; an
    enum variant a `u32` v with `(v * variants) >> 32 == index`; a `Vec` taken as the rest is a
    "keep going" bool before each element. A `&[u8]` takes its bytes from the front, but its
    length from the end of the remaining data (one byte while at most 256 bytes remain, else
    two, big-endian), so lengths are laid out last-read-first at the end by `build`.
    """

    def __init__(self) -> None:
        self.parts = []  # (front bytes, or None for a slice-length marker, slice length)

    def raw(self, b: bytes) -> "Arb":
        self.parts.append((bytes(b), 0))
        return self

    def u8(self, v: int) -> "Arb":
        return self.raw(struct.pack("<B", v))

    def i8(self, v: int) -> "Arb":
        return self.raw(struct.pack("<b", v))

    def u16(self, v: int) -> "Arb":
        return self.raw(struct.pack("<H", v))

    def u32(self, v: int) -> "Arb":
        return self.raw(struct.pack("<I", v))

    def u64(self, v: int) -> "Arb":
        return self.raw(struct.pack("<Q", v))

    def bool(self, v: bool) -> "Arb":
        return self.u8(1 if v else 0)

    def variant(self, index: int, count: int) -> "Arb":
        v = -(-(index << 32) // count)
        assert (v * count) >> 32 == index
        return self.u32(v)

    def none(self) -> "Arb":
        return self.bool(False)

    def some(self) -> "Arb":
        return self.bool(True)

    def slice(self, b: bytes) -> "Arb":
        self.parts.append((None, len(b)))
        return self.raw(b)

    def build(self) -> bytes:
        front = b"".join(p for p, _ in self.parts if p is not None)
        # For every slice, the front bytes still unread when its length is read.
        markers, seen = [], 0
        for p, n in self.parts:
            if p is None:
                markers.append((len(front) - seen, n))
            else:
                seen += len(p)
        tail, backs = 0, []
        for front_after, n in reversed(markers):
            remaining = front_after + tail
            if remaining + 1 <= 256:
                size = bytes([n])
            else:
                assert remaining + 2 <= 0xFFFF + 2 and remaining >= 256
                size = struct.pack(">H", n)
            assert n <= remaining
            backs.append(size)
            tail += len(size)
        # The first length read is the last bytes of the data.
        return front + b"".join(backs)


def rtp_packet(ssrc: int, seq: int, ts: int, pt: int, marker: bool, payload: bytes) -> bytes:
    return struct.pack(">BBHII", 0x80, (0x80 if marker else 0) | pt, seq, ts, ssrc) + payload


# Variant indices of fuzz_targets/depacketize.rs.
DEP_OPS = 5  # Packet, Frame, Raw, Flush, Remove
SEQ_STEPS = 3  # Next, Delta, Absolute
TS_STEPS = 3  # Same, Delta, Absolute
EXT_PROFILES = 3  # OneByte, TwoByte, Other
DELIVERIES = 3  # InOrder, Reversed, Shuffled


def dep_input(window: int, max_pending_bytes: int, max_streams: int) -> Arb:
    return Arb().u16(window).u16(max_pending_bytes // 8).u8(max_streams - 1)


def dep_frame(a: Arb, stream, mtu, pt, ts, data, delivery=0, seed=0, csrcs=0,
              packetized=False, duplicate=None, lose=None) -> None:
    a.some().variant(1, DEP_OPS).u8(stream).u16(mtu).u8(pt).u32(ts).u8(csrcs).bool(packetized)
    a.slice(data).variant(delivery, DELIVERIES)
    if delivery == 2:
        a.u64(seed)
    for opt in (duplicate, lose):
        if opt is None:
            a.none()
        else:
            a.some().u16(opt)


def dep_packet(a: Arb, stream, descriptor, payload, seq=(0, None), ts=(0, None),
               marker_pt=96, csrcs=0, ext=None, padding=None) -> None:
    a.some().variant(0, DEP_OPS).u8(stream)
    a.variant(seq[0], SEQ_STEPS)
    if seq[0] == 1:
        a.i8(seq[1])
    elif seq[0] == 2:
        a.u16(seq[1])
    a.variant(ts[0], TS_STEPS)
    if ts[0] == 1:
        a.u16(ts[1])
    elif ts[0] == 2:
        a.u32(ts[1])
    a.u8(marker_pt).u8(csrcs)
    if ext is None:
        a.none()
    else:
        profile, block = ext
        a.some()
        if profile in (0, 1):
            a.variant(profile, EXT_PROFILES)
        else:
            a.variant(2, EXT_PROFILES).u16(profile)
        a.slice(block)
    a.u8(descriptor).slice(payload)
    if padding is None:
        a.none()
    else:
        a.some().u8(padding[0]).u8(padding[1])


def depacketize_seeds(rng: random.Random):
    frame = bytes(rng.randrange(256) for _ in range(300))
    # Frames on two streams, every delivery order, then a flush.
    a = dep_input(64, 64 * 1024, 2)
    dep_frame(a, 0, 60, 96, 3000, frame[:200])
    dep_frame(a, 0, 60, 96 | 0x80, 6000, frame[:120], delivery=1)
    dep_frame(a, 2, 40, 97, 9000, frame[:250], delivery=2, seed=7, duplicate=3)
    dep_frame(a, 0, 100, 96, 12000, frame, delivery=2, seed=99, lose=1, csrcs=2)
    dep_frame(a, 2, 1200, 111 | 0x80, 15000, b"", packetized=True)
    a.some().variant(3, DEP_OPS)
    yield a.build()
    # One stream only: a second SSRC is refused, then the first is removed.
    a = dep_input(16, 2048, 1)
    dep_frame(a, 1, 50, 96, 1, frame[:100])
    dep_frame(a, 4, 50, 96, 2, frame[:100])
    a.some().variant(4, DEP_OPS).u8(1)
    dep_frame(a, 4, 50, 96, 2, frame[:100], delivery=1)
    yield a.build()
    # S, middle, E built from fields, with CSRCs, extensions and padding; a lone E; a
    # duplicate; a big sequence jump.
    a = dep_input(128, 16 * 1024, 4)
    dep_packet(a, 3, 0x80, b"first", seq=(2, 65534), ts=(2, 90000), csrcs=1,
               ext=(0, bytes([0x10, 0xAA, 0x21, 1, 2, 0])))
    dep_packet(a, 3, 0x00, b"middle", ext=(1, bytes([1, 3, 9, 9, 9, 0, 0, 0])))
    dep_packet(a, 3, 0x40, b"last", marker_pt=0x80 | 96, padding=(4, 3))
    dep_packet(a, 3, 0x40, b"lone end", seq=(1, 5))
    dep_packet(a, 3, 0xC0, b"whole", seq=(1, -3), ext=(0x1234, b"opaque!!"))
    dep_packet(a, 3, 0xE0, b"packetized", ts=(1, 3000))
    dep_packet(a, 3, 0xE0, b"packetized", seq=(1, -1))
    dep_packet(a, 5, 0x80, b"x" * 40, seq=(2, 100), ts=(1, 1))
    dep_packet(a, 5, 0x40, b"y" * 40, seq=(2, 30000))
    dep_packet(a, 5, 0xC0, b"bad padding", padding=(200, 0))
    dep_packet(a, 5, 0xC0, b"bad extension", ext=(0, bytes([0xF0, 0, 0, 0])))
    yield a.build()
    # Real packets as raw bytes, out of order, and a truncated one.
    a = dep_input(1000, 4 << 16, 4)
    pkts = [
        rtp_packet(0x11, 7, 160, 0, False, bytes([0x80]) + frame[:50]),
        rtp_packet(0x11, 9, 160, 0, True, bytes([0x40]) + frame[100:150]),
        rtp_packet(0x11, 8, 160, 0, False, bytes([0x00]) + frame[50:100]),
        rtp_packet(0x22, 1, 320, 8, True, bytes([0xE0]) + frame[:30]),
        rtp_packet(0x22, 2, 640, 8, True, b""),
        rtp_packet(0x22, 3, 640, 8, True, b"")[:7],
    ]
    for p in pkts:
        a.some().variant(2, DEP_OPS).slice(p)
    yield a.build()
    # Tiny limits: everything evicted.
    a = dep_input(1, 8, 1)
    dep_frame(a, 0, 30, 96, 0, frame[:80], delivery=1)
    dep_packet(a, 0, 0xC0, b"z" * 30)
    yield a.build()


# Variant indices of fuzz_targets/keyring.rs.
KR_OPS = 13  # NewEpoch AddEpoch PeerAddEpoch Acknowledge SetMembers Tick Timeout NextTimeout
#              Encrypt PeerEncrypt Deliver Raw Clear
JUMPS = 3  # Next, Skip, Far
EPOCH_REFS = 2  # Created, Raw
MUTATIONS = 4  # None, Frame, Metadata, Truncate


class Ops:
    """The keyring target's operations, written with `Arb`."""

    def __init__(self, suite=0, epoch_bits=4, max_epochs=16, grace=500, retire=2000,
                 at_once=False, max_frames=4, max_bytes=2000, max_age=1000, replay_window=64,
                 receive_only=False) -> None:
        a = self.a = Arb()
        a.u8(suite).u8(0).u8(epoch_bits).u8(max_epochs).u16(grace).u16(retire).bool(at_once)
        a.u8(max_frames).u16(max_bytes).u16(max_age)
        if replay_window is None:
            a.none()
        else:
            a.some().u16(replay_window)
        a.bool(receive_only)

    def op(self, index: int) -> Arb:
        return self.a.some().variant(index, KR_OPS)

    def new_epoch(self, seed: int, roster=0b11, sender_bits=None, skip=0, key_len=None):
        """sender_bits: None for the RFC's S from the roster, or a fixed S."""
        a = self.op(0)
        if skip:
            a.variant(1, JUMPS).u8(skip)
        else:
            a.variant(0, JUMPS)
        a.u32(seed)
        if key_len is None:
            a.none()
        else:
            a.some().u8(key_len)
        if sender_bits is None:
            a.none()
        else:
            a.some().u8(sender_bits)
        a.u8(roster)
        return self

    def add(self, i: int, peer=False):
        self.op(2 if peer else 1).u8(i)
        return self

    def ack(self, leaf: int, i: int, to_peer=False):
        self.op(3).u8(leaf).variant(0, EPOCH_REFS).u8(i).bool(to_peer)
        return self

    def set_members(self, i: int, roster: int):
        self.op(4).u8(i).u8(roster)
        return self

    def tick(self, ms: int):
        self.op(5).u16(ms)
        return self

    def timeout(self, next_one=False):
        self.op(7 if next_one else 6)
        return self

    def encrypt(self, context: int, metadata: bytes, payload: bytes, in_place=False):
        self.op(8).u64(context).slice(metadata).slice(payload).bool(in_place)
        return self

    def peer_encrypt(self, context: int, metadata: bytes, payload: bytes):
        self.op(9).u8(context).slice(metadata).slice(payload)
        return self

    def deliver(self, i: int, mutation=(0,)):
        a = self.op(10).u8(i).variant(mutation[0], MUTATIONS)
        if mutation[0] == 1:
            a.u16(mutation[1]).u8(mutation[2])
        elif mutation[0] == 2:
            a.u8(mutation[1]).u8(mutation[2])
        elif mutation[0] == 3:
            a.u16(mutation[1])
        return self

    def raw(self, metadata: bytes, frame: bytes):
        self.op(11).slice(metadata).slice(frame)
        return self

    def clear(self):
        self.op(12)
        return self

    def build(self) -> bytes:
        return self.a.build()


def keyring_seeds():
    # The lib.rs example: epoch 1, frames both ways, epoch 2 switched to on acknowledgement.
    yield (Ops().new_epoch(7).add(0).add(0, peer=True)
           .encrypt(0, b"", b"audio frame").peer_encrypt(0, b"md", b"video frame").deliver(0)
           .new_epoch(9).add(1, peer=True).tick(20).add(1).ack(1, 1)
           .encrypt(0, b"m", b"after switch", in_place=True).peer_encrypt(1, b"", b"two")
           .deliver(1).deliver(1).build())
    # A frame buffered until its epoch arrives; the peer switches after the grace period.
    yield (Ops(suite=3).new_epoch(1, roster=0b111).add(0).add(0, peer=True)
           .new_epoch(2, roster=0b111).add(1, peer=True).tick(600).timeout()
           .peer_encrypt(5, b"md", b"early frame").deliver(0).deliver(0, (1, 3, 0x40))
           .tick(10).add(1).encrypt(5, b"md", b"x").ack(1, 1).ack(2, 1).encrypt(5, b"", b"y")
           .timeout(next_one=True).timeout(next_one=True).build())
    # Rollover with E = 1: epochs 1, 2, 3 (3 takes 1's slot), retirement, sending forced on.
    yield (Ops(epoch_bits=1, grace=100, retire=300).new_epoch(3).add(0).encrypt(1, b"", b"e1")
           .new_epoch(4).add(1).encrypt(1, b"", b"e1 still").new_epoch(5).add(2)
           .encrypt(1, b"", b"e3").tick(400).timeout().encrypt(2, b"", b"e3 again")
           .new_epoch(6, skip=5).add(3).timeout(next_one=True).encrypt(0, b"", b"z").clear()
           .encrypt(0, b"", b"none").build())
    # Buffer limits: two frames at most; overflow, then expiry; mutated and arbitrary frames.
    yield (Ops(max_frames=2, max_bytes=200, max_age=50).new_epoch(1).new_epoch(2)
           .add(0).add(0, peer=True).add(1, peer=True).tick(600).timeout()
           .peer_encrypt(0, b"a", b"1").peer_encrypt(0, b"b", b"2").peer_encrypt(0, b"c", b"3")
           .deliver(0).deliver(1).deliver(2).deliver(2, (2, 0, 1)).deliver(1, (3, 3))
           .tick(60).timeout()
           .raw(b"", bytes([0x10, 0x00]) + b"\0" * 20).raw(b"m", bytes([0x91, 0x23, 0x45]))
           .raw(b"", b"").add(1).build())
    # Receive-only, a roster without the peer, set_members, bad epochs.
    yield (Ops(receive_only=True, replay_window=None).new_epoch(1, roster=0b1, sender_bits=3)
           .new_epoch(2, roster=0b11, sender_bits=1).new_epoch(3, key_len=5)
           .add(0).add(0, peer=True).peer_encrypt(0, b"", b"not a member").deliver(0)
           .set_members(0, 0b11).deliver(0).encrypt(0, b"", b"no").add(1).add(0).add(2)
           .ack(1, 1, to_peer=True).build())
    # S follows the roster: 2 leaves (S = 1), 5 (S = 3), 3 (S = 2), with frames of each epoch
    # in flight while the next is added.
    yield (Ops().new_epoch(1, roster=0b11).add(0).add(0, peer=True)
           .new_epoch(2, roster=0b11111).add(1).add(1, peer=True)
           .peer_encrypt(3, b"", b"S = 3").new_epoch(3, roster=0b111).add(2)
           .peer_encrypt(1, b"", b"still S = 3").add(2, peer=True).peer_encrypt(1, b"", b"S = 2")
           .deliver(0).deliver(1).deliver(2).encrypt(1, b"", b"x").ack(1, 2).ack(1, 3)
           .encrypt(2, b"", b"y").build())
    # E = 20 with at most 3 epochs held; E = 63 with S = 1 (no context bits), 64 + S refused.
    yield (Ops(epoch_bits=20, max_epochs=3).new_epoch(1).new_epoch(2).new_epoch(3)
           .new_epoch(4).new_epoch(5, skip=200).add(0).add(1).add(2).add(3)
           .add(0, peer=True).add(1, peer=True).add(2, peer=True).add(3, peer=True)
           .peer_encrypt(7, b"", b"e4").deliver(0).add(4).encrypt(9, b"", b"z").build())
    yield (Ops(epoch_bits=63).new_epoch(1).add(0).add(0, peer=True).encrypt(0, b"", b"a")
           .encrypt(1, b"", b"no context bit").peer_encrypt(0, b"", b"b").deliver(0).build())
    yield (Ops(epoch_bits=64).new_epoch(1, roster=0b1).new_epoch(2).add(0).add(1)
           .encrypt(0, b"", b"S = 0").build())


def sfu_seeds():
    """Operation sequences for `sfu` (the `Input` of fuzz_targets/sfu.rs)."""

    def genuine(a, second, payload, descriptor=0xC0, empty=False, hold=False, skip=0):
        a.bool(True).variant(0, 6).bool(second).u8(descriptor).bool(empty).bool(True)
        a.u16(3000).u8(skip).slice(payload).bool(hold)

    for profile in range(4):
        for slot in (False, True):
            a = Arb().u8(profile).u8(0x40 + profile).bool(slot)
            for i in range(3):
                genuine(a, False, bytes([0x10 + i]) * (20 + 40 * i))
                genuine(a, True, bytes([0x20 + i]) * 30, descriptor=0x80 if i == 0 else 0x40)
            if slot:
                a.bool(True).variant(5, 6).bool(True)
                genuine(a, True, b"after the switch")
                genuine(a, False, b"old source")
            genuine(a, False, b"held", hold=True)
            genuine(a, False, b"on time")
            a.bool(True).variant(1, 6).u8(0)  # release the held one
            a.bool(True).variant(2, 6).bool(False).u16(5).u8(0x10)  # a flipped byte
            a.bool(True).variant(3, 6).u8(1)  # a replay
            genuine(a, True, b"", empty=True)  # no descriptor: malformed
            a.bool(True).variant(4, 6).u8(3).none().slice(bytes(40))  # unknown participant
            a.bool(True).variant(4, 6).u8(0).some().bool(False).slice(bytes(range(60)))
            genuine(a, False, b"still forwarded")
            yield a.build()


def pipeline_seeds():
    """Operation sequences for `pipeline` (the `Input` of fuzz_targets/pipeline.rs)."""

    def send(a, n):
        a.bool(True).variant(0, 6).u16(n).u8(n & 0xFF)

    def hop(a, down, pick, action=0, at=0, mask=0):
        a.bool(True).variant(2 if down else 1, 6).u8(pick).variant(action, 4)
        if action == 3:
            a.u16(at).u8(mask)

    for profile in range(4):
        # In order, every packet through both hops: each frame is handed out.
        a = Arb().u8(profile).u8(20)
        for n in (10, 700, 2500):
            send(a, n)
        for _ in range(40):
            hop(a, False, 0)
        for _ in range(40):
            hop(a, True, 0)
        yield a.build()
        # Reversed on the uplink, a duplicate and a loss on the downlink, forged bytes, Mallory.
        a = Arb().u8(profile).u8(0)
        for n in (300, 50, 900):
            send(a, n)
        for _ in range(30):
            hop(a, False, 255)
        hop(a, True, 3, action=2)
        hop(a, True, 5, action=1)
        hop(a, True, 0, action=3, at=7, mask=0x40)
        for to in range(3):
            a.bool(True).variant(3, 6).u8(to).slice(bytes(range(to * 20, to * 20 + 50)))
        a.bool(True).variant(4, 6).u16(7).u8(0xC0).slice(bytes([0x3F, 0x01, 0x00]) + bytes(40))
        a.bool(True).variant(5, 6).u8(8).u32(0x9605)
        for _ in range(40):
            hop(a, True, 0)
        send(a, 100)
        hop(a, False, 0)
        hop(a, True, 0)
        yield a.build()


def main() -> None:
    vectors = json.loads(VECTORS.read_text())
    rng = random.Random(9605)

    for v in vectors["header"]:
        encoded = bytes.fromhex(v["encoded"])
        assert encoded == header(v["kid"], v["ctr"]), v
        write("header", encoded)

    for v in vectors["sframe"]:
        frame = bytes.fromhex(v["ct"])
        metadata = bytes.fromhex(v["metadata"])
        suite = v["cipher_suite"]
        assert frame.startswith(header(v["kid"], v["ctr"]))
        write("header", frame)
        write("decrypt", decrypt_input(suite, 0, False, 3, [(metadata, frame, False)]))
        write("decrypt", decrypt_input(suite, 1, True, 3, [(metadata, frame, True)]))
        flags = suite % 8  # a different backend mix per vector
        write(
            "roundtrip",
            roundtrip_input(
                suite, flags, v["kid"], v["ctr"], bytes.fromhex(v["base_key"]), 3, 0,
                metadata, bytes.fromhex(v["pt"]),
            ),
        )

    pt = bytes.fromhex(vectors["sframe"][0]["pt"])
    metadata = bytes.fromhex(vectors["sframe"][0]["metadata"])
    base_key = bytes.fromhex(vectors["sframe"][0]["base_key"])
    for suite in range(6, 9):
        write("roundtrip", roundtrip_input(suite, suite, 0x123, 0x4567, base_key, 7, 1, metadata, pt))
    # Longer payloads and extreme KID/CTR values.
    write("roundtrip", roundtrip_input(4, 0x0F, 2**64 - 1, 2**64 - 1, b"k", 1000, 5, b"", bytes(1200)))
    write("roundtrip", roundtrip_input(8, 0x05, 0, 0, bytes(range(32)), 0, 0, b"m" * 300, b""))

    for suite in range(1, 9):
        tag = TAG_LEN[suite]
        for backend in (0, 1):
            records = []
            for kid in STATIC_KIDS + RATCHET_KIDS + [0x42]:
                ctr = rng.choice([0, 1, 7, 8, 255, 256, 2**32, 2**64 - 1])
                body = rng.randbytes(rng.choice([0, 1, 20, 100])) + rng.randbytes(tag)
                meta = rng.randbytes(rng.choice([0, 0, 4, 14]))
                records.append((meta, header(kid, ctr) + body, rng.random() < 0.3))
            # One input per record, then a few records per input.
            for i, record in enumerate(records):
                write("decrypt", decrypt_input(suite, backend, i % 3 == 0, i % 5, [record]))
            write("decrypt", decrypt_input(suite, backend, True, 4, records[:8]))
            # Shorter than header + tag.
            write("decrypt", decrypt_input(suite, backend, False, 1, [(b"", header(8, 300) + bytes(tag - 1), False)]))

    for data in depacketize_seeds(rng):
        write("depacketize", data)
    for data in keyring_seeds():
        write("keyring", data)
    for data in sfu_seeds():
        write("sfu", data)
    for data in pipeline_seeds():
        write("pipeline", data)


if __name__ == "__main__":
    main()
