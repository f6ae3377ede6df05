//! Fuzz target `header`: `Header::parse` on arbitrary bytes never panics and agrees exactly
//! with an independent reference decoder of the RFC 9605 section 4.3 layout written below (same
//! KID, CTR and length on success; the same `Truncated { needed, available }` or `NonMinimal`
//! on failure). When it succeeds, re-encoding the header gives exactly the parsed prefix of the
//! input, `Header::len` equals the reported length, and `encode` into a buffer one byte short
//! fails with `BufferTooSmall`. The first 16 input bytes are also read as a (KID, CTR) pair
//! whose encoding must parse back to itself, so the encoder is fuzzed for every value too.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sframe_core::{Header, HeaderError, MAX_HEADER_LEN, SframeError as Error};

/// What the reference decoder makes of the input.
#[derive(Debug, PartialEq, Eq)]
enum Expected {
    Parsed { kid: u64, ctr: u64, len: usize },
    Truncated { needed: usize, available: usize },
    NonMinimal,
}

/// A deliberately plain decoder: config byte `X KKK Y CCC`; a set flag means the value follows
/// in (bits + 1) big-endian bytes, which must not start with a zero byte and, when a single
/// byte, must be at least 8 (smaller values belong in the config byte).
fn reference(data: &[u8]) -> Expected {
    let Some(&config) = data.first() else {
        return Expected::Truncated {
            needed: 1,
            available: 0,
        };
    };
    let x = config & 0b1000_0000 != 0;
    let k = usize::from((config >> 4) & 0b111);
    let y = config & 0b0000_1000 != 0;
    let c = usize::from(config & 0b111);
    let kid_len = if x { k + 1 } else { 0 };
    let ctr_len = if y { c + 1 } else { 0 };
    let len = 1 + kid_len + ctr_len;
    if data.len() < len {
        return Expected::Truncated {
            needed: len,
            available: data.len(),
        };
    }
    let field = |bytes: &[u8]| -> Option<u64> {
        let minimal = match bytes {
            [single] => *single >= 8,
            [first, ..] => *first != 0,
            [] => unreachable!("extended fields have 1 to 8 bytes"),
        };
        minimal.then(|| bytes.iter().fold(0u64, |v, &b| (v << 8) | u64::from(b)))
    };
    let kid = if x {
        field(&data[1..1 + kid_len])
    } else {
        Some(k as u64)
    };
    let ctr = if y {
        field(&data[1 + kid_len..len])
    } else {
        Some(c as u64)
    };
    match (kid, ctr) {
        (Some(kid), Some(ctr)) => Expected::Parsed { kid, ctr, len },
        _ => Expected::NonMinimal,
    }
}

fuzz_target!(|data: &[u8]| {
    let got = match Header::parse(data) {
        Ok((header, len)) => Expected::Parsed {
            kid: header.kid,
            ctr: header.ctr,
            len,
        },
        Err(Error::MalformedHeader(HeaderError::Truncated { needed, available })) => {
            Expected::Truncated { needed, available }
        }
        Err(Error::MalformedHeader(HeaderError::NonMinimal)) => Expected::NonMinimal,
        Err(other) => panic!("Header::parse gave a non-header error: {other:?}"),
    };
    assert_eq!(
        got,
        reference(data),
        "Header::parse disagrees with the reference on {data:02x?}"
    );

    match got {
        Expected::Parsed { kid, ctr, len } => {
            let header = Header::new(kid, ctr);
            assert!((1..=MAX_HEADER_LEN).contains(&len));
            assert_eq!(
                header.len(),
                len,
                "Header::len differs from the parsed length"
            );
            assert!(!header.is_empty());
            assert_eq!(
                header.to_bytes().as_ref(),
                &data[..len],
                "to_bytes is not the input"
            );

            let mut exact = [0u8; MAX_HEADER_LEN];
            assert_eq!(header.encode(&mut exact[..len]), Ok(len));
            assert_eq!(&exact[..len], &data[..len], "encode is not the input");
            let short = len - 1;
            assert_eq!(
                header.encode(&mut exact[..short]),
                Err(Error::BufferTooSmall {
                    needed: len,
                    available: short
                })
            );
        }
        Expected::Truncated { needed, available } => {
            assert!(needed > available && needed <= MAX_HEADER_LEN);
        }
        Expected::NonMinimal => {}
    }

    // The encoder side: any (KID, CTR) encodes minimally and parses back to itself.
    if let (Some(kid), Some(ctr)) = (data.get(..8), data.get(8..16)) {
        let kid = u64::from_le_bytes(kid.try_into().unwrap_or_default());
        let ctr = u64::from_le_bytes(ctr.try_into().unwrap_or_default());
        let header = Header::new(kid, ctr);
        let encoded = header.to_bytes();
        assert_eq!(encoded.as_ref().len(), header.len());
        assert_eq!(Header::parse(encoded.as_ref()), Ok((header, header.len())));
        assert_eq!(
            reference(encoded.as_ref()),
            Expected::Parsed {
                kid,
                ctr,
                len: header.len()
            },
            "the encoding of ({kid}, {ctr}) is not the reference's minimal form"
        );
    }
});
