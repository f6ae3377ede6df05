//! The MLS messages on a participant's data channel: a small, versioned, length-checked
//! framing.
//!
//! ```text
//! version (1 byte, = 1) | kind (1 byte) | body length (u32, big endian) | body
//! ```
//! Bodies are sequences of fields: integers big endian, byte strings as a u32 length and the
//! bytes, lists as a u32 count and the items. A message is refused ([`FramingError`]) unless
//! its declared lengths add up exactly to the bytes received; decoding never panics and
//! allocates at most the bytes received.

use crate::error::FramingError;

/// The framing's version.
pub const FRAMING_VERSION: u8 = 1;
/// The largest message accepted (a Welcome and a ratchet tree of a large group fit).
pub const MAX_MESSAGE_LEN: usize = 1 << 20;
const HEADER_LEN: usize = 6;

/// One MLS message between a participant and the SFU (the delivery service).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MlsMessage {
    /// Participant -> SFU: "add me", with a fresh key package.
    Join {
        /// The serialized MLS key package message.
        key_package: Vec<u8>,
    },
    /// SFU -> participant: there is no group; create it (you are its committer).
    Create,
    /// Participant -> SFU: the group is created (epoch 0), with its ratchet tree.
    Created {
        /// The ratchet tree (RFC 9420 section 12.4.3.3).
        ratchet_tree: Vec<u8>,
    },
    /// SFU -> committer: commit these adds and removes in one commit.
    CommitRequest {
        /// The epoch the commit must start from.
        epoch: u64,
        /// Key packages to add.
        adds: Vec<Vec<u8>>,
        /// Leaves to remove.
        removes: Vec<u32>,
    },
    /// Committer -> SFU: the commit (already merged by the committer), the Welcome for the
    /// joiners, the new ratchet tree and the joiners' leaves (in the order of the request).
    Commit {
        /// The epoch the commit leads to.
        epoch: u64,
        /// The commit (an MLS message).
        commit: Vec<u8>,
        /// The Welcome, if the commit added members (without the tree).
        welcome: Vec<u8>,
        /// The ratchet tree of `epoch`.
        ratchet_tree: Vec<u8>,
        /// Leaves of the added members.
        added: Vec<u32>,
    },
    /// SFU -> member: a commit of the group, in the delivery service's order.
    Handshake {
        /// The epoch it leads to.
        epoch: u64,
        /// The commit.
        commit: Vec<u8>,
    },
    /// SFU -> joiner: a Welcome and the ratchet tree it needs.
    Welcome {
        /// The epoch it joins at.
        epoch: u64,
        /// The Welcome.
        welcome: Vec<u8>,
        /// The ratchet tree of `epoch`.
        ratchet_tree: Vec<u8>,
    },
    /// Member -> SFU -> members: member `leaf` has the keys of `epoch` (the keyring's
    /// acknowledgement).
    Ack {
        /// The acknowledging member's leaf.
        leaf: u32,
        /// The epoch.
        epoch: u64,
    },
    /// SFU -> participant: the SSRCs it starts forwarding to this participant on its audio and
    /// its video line (str0m receives only SSRCs it was told about: several senders share a
    /// line, and the media carry no MID extension).
    Streams {
        /// New audio SSRCs.
        audio: Vec<u32>,
        /// New video SSRCs.
        video: Vec<u32>,
    },
}

mod kind {
    pub const JOIN: u8 = 1;
    pub const CREATE: u8 = 2;
    pub const CREATED: u8 = 3;
    pub const COMMIT_REQUEST: u8 = 4;
    pub const COMMIT: u8 = 5;
    pub const HANDSHAKE: u8 = 6;
    pub const WELCOME: u8 = 7;
    pub const ACK: u8 = 8;
    pub const STREAMS: u8 = 9;
}

impl MlsMessage {
    fn kind(&self) -> u8 {
        match self {
            Self::Join { .. } => kind::JOIN,
            Self::Create => kind::CREATE,
            Self::Created { .. } => kind::CREATED,
            Self::CommitRequest { .. } => kind::COMMIT_REQUEST,
            Self::Commit { .. } => kind::COMMIT,
            Self::Handshake { .. } => kind::HANDSHAKE,
            Self::Welcome { .. } => kind::WELCOME,
            Self::Ack { .. } => kind::ACK,
            Self::Streams { .. } => kind::STREAMS,
        }
    }

    /// A short name of the message's kind (for logs and counters).
    pub fn name(&self) -> &'static str {
        match self {
            Self::Join { .. } => "join",
            Self::Create => "create",
            Self::Created { .. } => "created",
            Self::CommitRequest { .. } => "commit-request",
            Self::Commit { .. } => "commit",
            Self::Handshake { .. } => "handshake",
            Self::Welcome { .. } => "welcome",
            Self::Ack { .. } => "ack",
            Self::Streams { .. } => "streams",
        }
    }

    /// The message, framed, appended to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        let start = out.len();
        out.extend_from_slice(&[FRAMING_VERSION, self.kind(), 0, 0, 0, 0]);
        match self {
            Self::Join { key_package } => put_bytes(out, key_package),
            Self::Create => {}
            Self::Created { ratchet_tree } => put_bytes(out, ratchet_tree),
            Self::CommitRequest {
                epoch,
                adds,
                removes,
            } => {
                out.extend_from_slice(&epoch.to_be_bytes());
                put_len(out, adds.len());
                for a in adds {
                    put_bytes(out, a);
                }
                put_u32s(out, removes);
            }
            Self::Commit {
                epoch,
                commit,
                welcome,
                ratchet_tree,
                added,
            } => {
                out.extend_from_slice(&epoch.to_be_bytes());
                put_bytes(out, commit);
                put_bytes(out, welcome);
                put_bytes(out, ratchet_tree);
                put_u32s(out, added);
            }
            Self::Handshake { epoch, commit } => {
                out.extend_from_slice(&epoch.to_be_bytes());
                put_bytes(out, commit);
            }
            Self::Welcome {
                epoch,
                welcome,
                ratchet_tree,
            } => {
                out.extend_from_slice(&epoch.to_be_bytes());
                put_bytes(out, welcome);
                put_bytes(out, ratchet_tree);
            }
            Self::Ack { leaf, epoch } => {
                out.extend_from_slice(&leaf.to_be_bytes());
                out.extend_from_slice(&epoch.to_be_bytes());
            }
            Self::Streams { audio, video } => {
                put_u32s(out, audio);
                put_u32s(out, video);
            }
        }
        let body = (out.len() - start - HEADER_LEN) as u32;
        out[start + 2..start + HEADER_LEN].copy_from_slice(&body.to_be_bytes());
    }

    /// The message, framed.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode_into(&mut out);
        out
    }

    /// Decodes one framed message, which must be all of `bytes`.
    ///
    /// # Errors
    /// [`FramingError`]: too long, truncated, a wrong version, an unknown kind, a body whose
    /// fields do not fill its declared length exactly.
    pub fn decode(bytes: &[u8]) -> Result<Self, FramingError> {
        if bytes.len() > MAX_MESSAGE_LEN {
            return Err(FramingError::TooLong { len: bytes.len() });
        }
        let Some((header, body)) = bytes.split_first_chunk::<HEADER_LEN>() else {
            return Err(FramingError::Truncated);
        };
        let [version, kind, l0, l1, l2, l3] = *header;
        if version != FRAMING_VERSION {
            return Err(FramingError::Version(version));
        }
        let declared = u32::from_be_bytes([l0, l1, l2, l3]) as usize;
        if declared != body.len() {
            return Err(FramingError::LengthMismatch {
                declared,
                actual: body.len(),
            });
        }
        let mut r = Reader(body);
        let msg = match kind {
            kind::JOIN => Self::Join {
                key_package: r.bytes()?,
            },
            kind::CREATE => Self::Create,
            kind::CREATED => Self::Created {
                ratchet_tree: r.bytes()?,
            },
            kind::COMMIT_REQUEST => Self::CommitRequest {
                epoch: r.u64()?,
                adds: r.list(Reader::bytes)?,
                removes: r.list(Reader::u32)?,
            },
            kind::COMMIT => Self::Commit {
                epoch: r.u64()?,
                commit: r.bytes()?,
                welcome: r.bytes()?,
                ratchet_tree: r.bytes()?,
                added: r.list(Reader::u32)?,
            },
            kind::HANDSHAKE => Self::Handshake {
                epoch: r.u64()?,
                commit: r.bytes()?,
            },
            kind::WELCOME => Self::Welcome {
                epoch: r.u64()?,
                welcome: r.bytes()?,
                ratchet_tree: r.bytes()?,
            },
            kind::ACK => Self::Ack {
                leaf: r.u32()?,
                epoch: r.u64()?,
            },
            kind::STREAMS => Self::Streams {
                audio: r.list(Reader::u32)?,
                video: r.list(Reader::u32)?,
            },
            other => return Err(FramingError::UnknownKind(other)),
        };
        if !r.0.is_empty() {
            return Err(FramingError::TrailingBytes { len: r.0.len() });
        }
        Ok(msg)
    }
}

fn put_len(out: &mut Vec<u8>, len: usize) {
    out.extend_from_slice(&(len as u32).to_be_bytes());
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    put_len(out, b.len());
    out.extend_from_slice(b);
}

fn put_u32s(out: &mut Vec<u8>, v: &[u32]) {
    put_len(out, v.len());
    for x in v {
        out.extend_from_slice(&x.to_be_bytes());
    }
}

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], FramingError> {
        if n > self.0.len() {
            return Err(FramingError::Truncated);
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn u32(&mut self) -> Result<u32, FramingError> {
        let mut b = [0u8; 4];
        b.copy_from_slice(self.take(4)?);
        Ok(u32::from_be_bytes(b))
    }

    fn u64(&mut self) -> Result<u64, FramingError> {
        let mut b = [0u8; 8];
        b.copy_from_slice(self.take(8)?);
        Ok(u64::from_be_bytes(b))
    }

    fn bytes(&mut self) -> Result<Vec<u8>, FramingError> {
        let n = self.u32()? as usize;
        Ok(self.take(n)?.to_vec())
    }

    fn list<T>(
        &mut self,
        item: fn(&mut Self) -> Result<T, FramingError>,
    ) -> Result<Vec<T>, FramingError> {
        let n = self.u32()? as usize;
        // Every item takes at least 4 bytes: a count beyond that is a lie, refused before any
        // allocation.
        if n > self.0.len() / 4 {
            return Err(FramingError::Truncated);
        }
        (0..n).map(|_| item(self)).collect()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn all() -> Vec<MlsMessage> {
        vec![
            MlsMessage::Join {
                key_package: vec![1, 2, 3],
            },
            MlsMessage::Create,
            MlsMessage::Created {
                ratchet_tree: vec![9; 40],
            },
            MlsMessage::CommitRequest {
                epoch: 7,
                adds: vec![vec![1], vec![]],
                removes: vec![3, 4],
            },
            MlsMessage::Commit {
                epoch: 8,
                commit: vec![5; 10],
                welcome: vec![],
                ratchet_tree: vec![1],
                added: vec![2],
            },
            MlsMessage::Handshake {
                epoch: 8,
                commit: vec![5; 10],
            },
            MlsMessage::Welcome {
                epoch: 8,
                welcome: vec![6],
                ratchet_tree: vec![7],
            },
            MlsMessage::Ack { leaf: 3, epoch: 8 },
            MlsMessage::Streams {
                audio: vec![1, 2],
                video: vec![],
            },
        ]
    }

    #[test]
    fn round_trips() {
        for m in all() {
            assert_eq!(MlsMessage::decode(&m.encode()).unwrap(), m);
        }
    }

    #[test]
    fn every_truncation_and_extension_is_refused() {
        for m in all() {
            let bytes = m.encode();
            for n in 0..bytes.len() {
                assert!(
                    MlsMessage::decode(&bytes[..n]).is_err(),
                    "{} cut at {n}",
                    m.name()
                );
            }
            let mut longer = bytes.clone();
            longer.push(0);
            assert!(MlsMessage::decode(&longer).is_err());
        }
    }

    #[test]
    fn refusals_are_typed() {
        let mut b = MlsMessage::Create.encode();
        b[0] = 2;
        assert_eq!(MlsMessage::decode(&b), Err(FramingError::Version(2)));
        let mut b = MlsMessage::Create.encode();
        b[1] = 99;
        assert_eq!(MlsMessage::decode(&b), Err(FramingError::UnknownKind(99)));
        // A list count far beyond the body.
        let b = [
            1,
            kind::COMMIT_REQUEST,
            0,
            0,
            0,
            12,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            1,
            255,
            255,
            255,
            255,
        ];
        assert_eq!(MlsMessage::decode(&b), Err(FramingError::Truncated));
    }
}
