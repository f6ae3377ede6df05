//! Attack/misuse class: a fallible state change that fails halfway (issue 14, case 2's class,
//! audited in the SFU). A packet the SFU forwards goes to every other participant; if
//! re-protecting one copy fails, the others must still go out, and the next packet must be
//! forwarded as usual. Before, the first failing destination aborted the packet for every
//! destination after it (and the copies protected before it were thrown away).

#![allow(clippy::unwrap_used)]

use sframe_rtp::{SframeRtpError as Error, Sfu, SrtpError, SrtpProfile, SrtpTransform};

/// A transform without encryption (plaintext in, plaintext out) whose `protect` can be told
/// to fail.
#[derive(Debug)]
struct Plain {
    fail_protect: bool,
}

impl SrtpTransform for Plain {
    fn profile(&self) -> SrtpProfile {
        SrtpProfile::Aes128CmHmacSha1_80
    }

    fn protect(&mut self, _buf: &mut [u8], len: usize) -> Result<usize, Error> {
        if self.fail_protect {
            Err(Error::Srtp(SrtpError::AuthenticationFailed))
        } else {
            Ok(len)
        }
    }

    fn unprotect<'a>(&mut self, packet: &'a mut [u8]) -> Result<&'a mut [u8], Error> {
        Ok(packet)
    }

    fn protect_rtcp(&mut self, buf: &mut [u8], len: usize) -> Result<usize, Error> {
        self.protect(buf, len)
    }

    fn unprotect_rtcp<'a>(&mut self, packet: &'a mut [u8]) -> Result<&'a mut [u8], Error> {
        Ok(packet)
    }

    fn allow_ssrc(&mut self, _ssrc: u32) {}
}

fn leg(fail_protect: bool) -> (Box<dyn SrtpTransform>, Box<dyn SrtpTransform>) {
    (
        Box::new(Plain {
            fail_protect: false,
        }),
        Box::new(Plain { fail_protect }),
    )
}

/// An RTP packet with an SFrame descriptor (S=E=1) and a few payload bytes.
fn packet(ssrc: u32, seq: u16) -> Vec<u8> {
    let mut p = vec![0x80, 96];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&1000u32.to_be_bytes());
    p.extend_from_slice(&ssrc.to_be_bytes());
    p.extend_from_slice(&[0xC0, 1, 2, 3, 4]);
    p
}

#[test]
fn one_destination_failing_costs_only_its_own_copy() {
    let mut sfu = Sfu::new();
    for (id, fail) in [(1u32, false), (2, false), (3, true), (4, false), (5, false)] {
        let (inbound, outbound) = leg(fail);
        sfu.add_participant(id, inbound, outbound, &[100 + id])
            .unwrap();
    }
    for seq in 0..3u16 {
        let f = sfu.receive(1, &packet(101, seq)).unwrap();
        let to: Vec<u32> = f.out.iter().map(|(to, _)| *to).collect();
        assert_eq!(to, vec![2, 4, 5], "packet {seq}");
    }
    let stats = sfu.stats();
    assert_eq!(stats.forwarded, 9);
    assert_eq!(stats.protect_failures, 3);
}
