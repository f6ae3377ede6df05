//! Real encoded media for participants that talk to browsers: a VP8 stream from an IVF file
//! and an Opus stream from an Ogg file (RFC 7845), read whole into memory and sent in a loop.
//!
//! A browser decodes what it decrypts, so synthetic frames will not do there. Any VP8 IVF file
//! works, e.g. one made with ffmpeg and libvpx:
//!
//! ```text
//! ffmpeg -f lavfi -i testsrc=size=320x240:rate=30 -t 3 -c:v libvpx -g 30 clip.ivf
//! ffmpeg -f lavfi -i sine=frequency=440:sample_rate=48000 -t 3 -c:a libopus -frame_duration 20 clip.ogg
//! ```
//!
//! A loop restarts on the clip's first frame; for VP8 that must be a key frame (checked), so
//! the decoder never sees a delta frame that refers to the end of the previous loop. An IVF
//! file with a key frame only at its start is fine: the loop starts over on it.

use core::fmt;

/// Why a clip does not load (bad caller input: the file).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClipError {
    /// Not an IVF file, or not VP8 (`VP80`).
    NotIvf,
    /// Not an Ogg file with an Opus stream.
    NotOggOpus,
    /// The file ends inside a frame or a page.
    Truncated,
    /// No frame at all.
    Empty,
    /// The first VP8 frame is not a key frame.
    NoKeyFrameFirst,
    /// A frame larger than [`MAX_CLIP_FRAME`].
    FrameTooLarge(usize),
}

impl fmt::Display for ClipError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotIvf => f.write_str("not a VP8 IVF file"),
            Self::NotOggOpus => f.write_str("not an Ogg Opus file"),
            Self::Truncated => f.write_str("the file is truncated"),
            Self::Empty => f.write_str("the file has no frame"),
            Self::NoKeyFrameFirst => f.write_str("the first VP8 frame is not a key frame"),
            Self::FrameTooLarge(n) => write!(f, "a frame of {n} bytes (at most {MAX_CLIP_FRAME})"),
        }
    }
}

impl std::error::Error for ClipError {}

/// The largest frame a clip may hold.
pub const MAX_CLIP_FRAME: usize = 1 << 20;

/// Whether a VP8 frame is a key frame (RFC 6386 section 9.1: bit 0 of the frame tag clear).
pub fn vp8_is_key_frame(frame: &[u8]) -> bool {
    frame.first().is_some_and(|b| b & 1 == 0)
}

/// Whether a VP8 key frame carries the start code `9d 01 2a` after its 3-byte frame tag.
pub fn vp8_has_start_code(frame: &[u8]) -> bool {
    frame.get(3..6) == Some(&[0x9d, 0x01, 0x2a][..])
}

/// Whether a VP8 RTP payload (RFC 7741: payload descriptor, then the frame) starts a frame
/// that is a VP8 key frame in clear: what an SFU must never see of SFrame-encrypted video. An
/// encrypted frame starts with its SFrame header and ciphertext, which look like this with
/// probability 2^-25.
pub fn vp8_payload_shows_key_frame(payload: &[u8]) -> bool {
    let Some(&first) = payload.first() else {
        return false;
    };
    let start_of_frame = first & 0x10 != 0 && first & 0x07 == 0;
    if !start_of_frame {
        return false;
    }
    let mut at = 1;
    if first & 0x80 != 0 {
        let Some(&ext) = payload.get(1) else {
            return false;
        };
        at = 2;
        if ext & 0x80 != 0 {
            // Picture ID: 15 bits if its first byte's M bit is set, else 7.
            let wide = payload.get(at).is_some_and(|b| b & 0x80 != 0);
            at += if wide { 2 } else { 1 };
        }
        if ext & 0x40 != 0 {
            at += 1; // TL0PICIDX
        }
        if ext & 0x30 != 0 {
            at += 1; // TID, Y, KEYIDX
        }
    }
    payload
        .get(at..)
        .is_some_and(|f| vp8_is_key_frame(f) && vp8_has_start_code(f))
}

/// The frames of a VP8 IVF file, in order.
///
/// # Errors
/// [`ClipError`].
pub fn read_ivf(bytes: &[u8]) -> Result<Vec<Vec<u8>>, ClipError> {
    if bytes.get(..4) != Some(b"DKIF") || bytes.get(8..12) != Some(b"VP80") {
        return Err(ClipError::NotIvf);
    }
    let header_len = bytes
        .get(6..8)
        .map(|b| usize::from(u16::from_le_bytes([b[0], b[1]])))
        .ok_or(ClipError::Truncated)?;
    let mut at = header_len.max(32);
    let mut frames = Vec::new();
    while at < bytes.len() {
        let size = bytes
            .get(at..at + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
            .ok_or(ClipError::Truncated)?;
        if size > MAX_CLIP_FRAME {
            return Err(ClipError::FrameTooLarge(size));
        }
        let frame = bytes
            .get(at + 12..at + 12 + size)
            .ok_or(ClipError::Truncated)?;
        frames.push(frame.to_vec());
        at += 12 + size;
    }
    match frames.first() {
        None => Err(ClipError::Empty),
        Some(f) if !vp8_is_key_frame(f) => Err(ClipError::NoKeyFrameFirst),
        Some(_) => Ok(frames),
    }
}

/// The Opus packets of an Ogg Opus file (its first logical stream), without the `OpusHead`
/// and `OpusTags` header packets.
///
/// # Errors
/// [`ClipError`].
pub fn read_ogg_opus(bytes: &[u8]) -> Result<Vec<Vec<u8>>, ClipError> {
    let mut packets = Vec::new();
    let mut packet = Vec::new();
    let mut serial = None;
    let mut head_seen = false;
    let mut at = 0;
    while at < bytes.len() {
        if bytes.get(at..at + 4) != Some(b"OggS") {
            return Err(ClipError::NotOggOpus);
        }
        let header = bytes.get(at..at + 27).ok_or(ClipError::Truncated)?;
        let page_serial = u32::from_le_bytes([header[14], header[15], header[16], header[17]]);
        let segments = usize::from(header[26]);
        let table = bytes
            .get(at + 27..at + 27 + segments)
            .ok_or(ClipError::Truncated)?;
        let mut body = at + 27 + segments;
        let ours = *serial.get_or_insert(page_serial) == page_serial;
        for &len in table {
            let seg = bytes
                .get(body..body + usize::from(len))
                .ok_or(ClipError::Truncated)?;
            body += usize::from(len);
            if !ours {
                continue;
            }
            packet.extend_from_slice(seg);
            if packet.len() > MAX_CLIP_FRAME {
                return Err(ClipError::FrameTooLarge(packet.len()));
            }
            if len == 255 {
                continue; // the packet goes on in the next segment
            }
            let done = std::mem::take(&mut packet);
            if !head_seen {
                // RFC 7845 section 3: the first packet is the identification header.
                if !done.starts_with(b"OpusHead") {
                    return Err(ClipError::NotOggOpus);
                }
                head_seen = true;
            } else if !done.starts_with(b"OpusTags") && !done.is_empty() {
                packets.push(done);
            }
        }
        at = body;
    }
    if !head_seen {
        return Err(ClipError::NotOggOpus);
    }
    if packets.is_empty() {
        return Err(ClipError::Empty);
    }
    Ok(packets)
}

/// A VP8 video stream and an Opus audio stream, sent in a loop.
#[derive(Clone, Debug)]
pub struct MediaClip {
    /// VP8 frames, the first a key frame.
    pub video: Vec<Vec<u8>>,
    /// Opus packets of 20 ms each.
    pub audio: Vec<Vec<u8>>,
}

impl MediaClip {
    /// A clip from the bytes of an IVF (VP8) and an Ogg Opus file.
    ///
    /// # Errors
    /// [`ClipError`].
    pub fn from_files(ivf: &[u8], ogg: &[u8]) -> Result<Self, ClipError> {
        Ok(Self {
            video: read_ivf(ivf)?,
            audio: read_ogg_opus(ogg)?,
        })
    }

    /// The `index`th video frame of the loop.
    pub fn video_frame(&self, index: u32) -> &[u8] {
        self.video
            .get(index as usize % self.video.len().max(1))
            .map_or(&[][..], Vec::as_slice)
    }

    /// The `index`th audio frame of the loop.
    pub fn audio_frame(&self, index: u32) -> &[u8] {
        self.audio
            .get(index as usize % self.audio.len().max(1))
            .map_or(&[][..], Vec::as_slice)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ivf(frames: &[&[u8]]) -> Vec<u8> {
        let mut out = b"DKIF\0\0\x20\0VP80".to_vec();
        out.resize(32, 0);
        for (i, f) in frames.iter().enumerate() {
            out.extend_from_slice(&(f.len() as u32).to_le_bytes());
            out.extend_from_slice(&(i as u64).to_le_bytes());
            out.extend_from_slice(f);
        }
        out
    }

    fn ogg_page(serial: u32, packets: &[&[u8]]) -> Vec<u8> {
        let mut table = Vec::new();
        let mut body = Vec::new();
        for p in packets {
            let mut n = p.len();
            while n >= 255 {
                table.push(255u8);
                n -= 255;
            }
            table.push(n as u8);
            body.extend_from_slice(p);
        }
        let mut page = b"OggS\0\0".to_vec();
        page.extend_from_slice(&[0; 8]); // granule
        page.extend_from_slice(&serial.to_le_bytes());
        page.extend_from_slice(&[0; 8]); // sequence, CRC (not checked)
        page.push(table.len() as u8);
        page.extend_from_slice(&table);
        page.extend_from_slice(&body);
        page
    }

    /// Peer or file input never panics: random bytes and mutations of valid files, through
    /// both readers and the VP8 payload scan.
    #[test]
    fn arbitrary_bytes_are_refused_without_panicking() {
        let key = [0x10, 0, 0, 0x9d, 0x01, 0x2a, 1, 2];
        let mut ogg = ogg_page(9, &[b"OpusHead\x01\x02"]);
        ogg.extend(ogg_page(9, &[&[0xfc, 1], &[7; 300]]));
        let seeds = [ivf(&[&key, &[0x31, 5]]), ogg];
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for i in 0..20_000 {
            let mut input = seeds[i % 2].clone();
            for _ in 0..(next() % 8) {
                let at = (next() as usize) % input.len().max(1);
                match next() % 3 {
                    0 => input.truncate(at),
                    1 => input.insert(at, next() as u8),
                    _ => {
                        if let Some(b) = input.get_mut(at) {
                            *b ^= 1 << (next() % 8);
                        }
                    }
                }
            }
            if i % 5 == 0 {
                input = (0..next() % 64).map(|_| next() as u8).collect();
            }
            let _ = read_ivf(&input);
            let _ = read_ogg_opus(&input);
            let _ = vp8_payload_shows_key_frame(&input);
        }
    }

    #[test]
    fn ivf_frames_come_out_in_order() {
        let key = [0x10, 0, 0, 0x9d, 0x01, 0x2a, 1, 2];
        let frames = read_ivf(&ivf(&[&key, &[0x31, 5]])).unwrap();
        assert_eq!(frames, vec![key.to_vec(), vec![0x31, 5]]);
        assert!(vp8_is_key_frame(&frames[0]) && vp8_has_start_code(&frames[0]));
        assert!(!vp8_is_key_frame(&frames[1]));
    }

    #[test]
    fn vp8_payloads_in_clear_are_recognised() {
        let key = [0x50, 0x2a, 0, 0x9d, 0x01, 0x2a, 1];
        // S=1, PID 0, no extension; then X with a 15-bit picture ID and TL0PICIDX.
        assert!(vp8_payload_shows_key_frame(&[&[0x10][..], &key].concat()));
        assert!(vp8_payload_shows_key_frame(
            &[&[0x90, 0xc0, 0x81, 0x02, 0x07][..], &key].concat()
        ));
        // Not the start of a frame, a delta frame, or too short.
        assert!(!vp8_payload_shows_key_frame(&[&[0x00][..], &key].concat()));
        assert!(!vp8_payload_shows_key_frame(&[
            0x10, 0x51, 0, 0x9d, 1, 0x2a
        ]));
        assert!(!vp8_payload_shows_key_frame(&[0x90]));
    }

    #[test]
    fn bad_ivf_is_refused() {
        assert_eq!(read_ivf(b"RIFF"), Err(ClipError::NotIvf));
        assert_eq!(read_ivf(&ivf(&[])), Err(ClipError::Empty));
        assert_eq!(read_ivf(&ivf(&[&[1, 2]])), Err(ClipError::NoKeyFrameFirst));
        let mut cut = ivf(&[&[0, 0, 0, 0x9d, 1, 0x2a]]);
        cut.pop();
        assert_eq!(read_ivf(&cut), Err(ClipError::Truncated));
    }

    #[test]
    fn ogg_opus_packets_without_headers() {
        let long = vec![7u8; 600]; // spans segments of 255
        let mut file = ogg_page(9, &[b"OpusHead\x01\x02"]);
        file.extend(ogg_page(9, &[b"OpusTags...."]));
        file.extend(ogg_page(4, &[b"another stream"]));
        file.extend(ogg_page(9, &[&[0xfc, 1], &long]));
        let packets = read_ogg_opus(&file).unwrap();
        assert_eq!(packets, vec![vec![0xfc, 1], long]);
        assert_eq!(
            read_ogg_opus(&ogg_page(9, &[&[1]])),
            Err(ClipError::NotOggOpus)
        );
        assert_eq!(read_ogg_opus(b"OggS"), Err(ClipError::Truncated));
    }
}
