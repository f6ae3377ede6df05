#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets from the RFC 9605 test vectors.

    python3 fuzz/seed.py            # from anywhere; writes fuzz/corpus/<target>/seed-*

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

Seed files are named by content hash, so running this again rewrites the same files.
"""

import hashlib
import json
import random
import struct
from pathlib import Path

FUZZ = Path(__file__).resolve().parent
VECTORS = FUZZ.parent / "test-vectors" / "vectors" / "test-vectors.json"
CORPUS = FUZZ / "corpus"

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


if __name__ == "__main__":
    main()
