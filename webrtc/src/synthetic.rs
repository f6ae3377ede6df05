//! Synthetic media: frames whose plaintext the SFU can recognise (and must never see) and
//! whose receiver can tell who sent it and which frame of the stream it is.

/// The bytes every synthetic plaintext frame starts with. The SFU scans every packet it
/// forwards for them.
pub const CANARY: &[u8; 16] = b"SFRAME-PLAINTXT!";

/// Bytes of a synthetic audio frame (about 40 kbit/s at 50 frames/s).
pub const AUDIO_FRAME_LEN: usize = 100;
/// Audio frames per second.
pub const AUDIO_FPS: u32 = 50;
/// Video frames per second.
pub const VIDEO_FPS: u32 = 30;
/// Every this many video frames is a large (key) frame.
pub const KEY_FRAME_EVERY: u32 = 60;
/// Bytes of a large video frame, and of the others.
pub const VIDEO_FRAME_LEN: (usize, usize) = (6000, 1200);

/// The plaintext of frame `index` of the stream `ssrc`: the canary, the SSRC, the index, then
/// bytes that depend on both.
pub fn frame(ssrc: u32, index: u32, len: usize) -> Vec<u8> {
    let len = len.max(HEADER);
    let mut p = Vec::with_capacity(len);
    p.extend_from_slice(CANARY);
    p.extend_from_slice(&ssrc.to_be_bytes());
    p.extend_from_slice(&index.to_be_bytes());
    p.extend((HEADER..len).map(|i| filler(ssrc, index, i)));
    p
}

const HEADER: usize = 24;

fn filler(ssrc: u32, index: u32, i: usize) -> u8 {
    let seed = ssrc.rotate_left(7) ^ index.wrapping_mul(0x9E37_79B1);
    (seed >> ((i % 4) * 8)) as u8 ^ i as u8
}

/// The SSRC and index of a synthetic frame, if `data` is one, intact.
pub fn parse_frame(data: &[u8]) -> Option<(u32, u32)> {
    let head = data.get(..HEADER)?;
    if !head.starts_with(CANARY) {
        return None;
    }
    let ssrc = u32::from_be_bytes(head.get(16..20)?.try_into().ok()?);
    let index = u32::from_be_bytes(head.get(20..24)?.try_into().ok()?);
    let intact = data
        .iter()
        .enumerate()
        .skip(HEADER)
        .all(|(i, &b)| b == filler(ssrc, index, i));
    intact.then_some((ssrc, index))
}

/// Whether `hay` contains the canary anywhere.
pub fn contains_canary(hay: &[u8]) -> bool {
    hay.windows(CANARY.len()).any(|w| w == CANARY)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_parse_and_alterations_do_not() {
        let f = frame(7, 3, 100);
        assert_eq!(parse_frame(&f), Some((7, 3)));
        assert!(contains_canary(&f));
        let mut g = f.clone();
        g[50] ^= 1;
        assert_eq!(parse_frame(&g), None);
        assert!(!contains_canary(&f[1..]));
    }
}
