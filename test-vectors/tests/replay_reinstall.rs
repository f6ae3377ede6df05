//! Attack class: replay protection lost when a key is re-installed.
//!
//! A receiver that removes a KID and installs it again must still refuse the frames it
//! accepted under that KID before (issue 14, case 1). The replay windows of the
//! `REMEMBERED_KIDS` KIDs removed last are kept; `forget_kid` is the explicit reset.

#![forbid(unsafe_code)]

use sframe_core::{CipherSuite, REMEMBERED_KIDS, Receiver, Sender, SframeError as Error};

const SUITE: CipherSuite = CipherSuite::Aes128GcmSha256_128;
const KID: u64 = 0x1234;

type TestResult = Result<(), Error>;

fn frames(sender: &mut Sender, kid: u64, n: usize) -> Result<Vec<Vec<u8>>, Error> {
    (0..n)
        .map(|i| {
            let mut f = format!("frame {i}").into_bytes();
            sender.encrypt(kid, b"md", &mut f)?;
            Ok(f)
        })
        .collect()
}

fn open(r: &mut Receiver, f: &[u8]) -> Result<Vec<u8>, Error> {
    let mut f = f.to_vec();
    r.decrypt_in_place(b"md", &mut f).map(|p| p.to_vec())
}

#[test]
fn frames_seen_before_a_remove_and_re_add_are_still_replays() -> TestResult {
    let mut s = Sender::new(SUITE);
    s.add_key(KID, b"base key")?;
    let mut r = Receiver::new(SUITE);
    r.add_key(KID, b"base key")?;
    let seen = frames(&mut s, KID, 5)?;
    for f in &seen {
        open(&mut r, f)?;
    }
    assert!(r.remove_key(KID));
    r.add_key(KID, b"base key")?;
    for (ctr, f) in seen.iter().enumerate() {
        assert_eq!(
            open(&mut r, f),
            Err(Error::Replay {
                kid: KID,
                ctr: ctr as u64
            }),
            "counter {ctr} replayed after re-install"
        );
    }
    // The sender resumes after its last counter; the receiver takes the new frames.
    assert!(s.remove_key(KID));
    s.add_key(KID, b"base key")?;
    for f in frames(&mut s, KID, 3)? {
        open(&mut r, &f)?;
    }
    Ok(())
}

#[test]
fn a_counter_never_seen_inside_the_old_window_still_decrypts_after_re_add() -> TestResult {
    let mut s = Sender::new(SUITE);
    s.add_key(KID, b"base key")?;
    let mut r = Receiver::new(SUITE);
    r.add_key(KID, b"base key")?;
    let all = frames(&mut s, KID, 4)?;
    // Counter 1 is held back (reordered), the rest arrive.
    for i in [0, 2, 3] {
        open(&mut r, &all[i])?;
    }
    r.remove_key(KID);
    r.add_key(KID, b"base key")?;
    assert_eq!(open(&mut r, &all[1]), Ok(b"frame 1".to_vec()));
    assert_eq!(
        open(&mut r, &all[1]),
        Err(Error::Replay { kid: KID, ctr: 1 })
    );
    Ok(())
}

#[test]
fn forget_kid_is_the_explicit_reset_for_an_unrelated_key() -> TestResult {
    let mut s = Sender::new(SUITE);
    s.add_key(KID, b"old key")?;
    let mut r = Receiver::new(SUITE);
    r.add_key(KID, b"old key")?;
    for f in frames(&mut s, KID, 3)? {
        open(&mut r, &f)?;
    }
    r.remove_key(KID);
    assert!(r.forget_kid(KID));
    assert!(!r.forget_kid(KID));
    // A new sender process with an unrelated key counts from 0 again.
    let mut fresh = Sender::new(SUITE);
    fresh.add_key(KID, b"new key")?;
    r.add_key(KID, b"new key")?;
    let f = frames(&mut fresh, KID, 1)?;
    assert_eq!(open(&mut r, &f[0]), Ok(b"frame 0".to_vec()));
    Ok(())
}

#[test]
fn only_the_last_removed_kids_are_remembered() -> TestResult {
    let mut s = Sender::new(SUITE);
    let mut r = Receiver::new(SUITE);
    let n = REMEMBERED_KIDS as u64 + 1;
    let mut first = Vec::new();
    for kid in 0..n {
        s.add_key(kid, b"base key")?;
        r.add_key(kid, b"base key")?;
        let f = frames(&mut s, kid, 1)?.remove(0);
        open(&mut r, &f)?;
        first.push(f);
        r.remove_key(kid);
    }
    // KID 0 was removed first: past the bound, its window is forgotten (documented)...
    r.add_key(0, b"base key")?;
    assert_eq!(open(&mut r, &first[0]), Ok(b"frame 0".to_vec()));
    // ...every later one is still remembered.
    for kid in 1..n {
        r.add_key(kid, b"base key")?;
        assert_eq!(
            open(&mut r, &first[kid as usize]),
            Err(Error::Replay { kid, ctr: 0 })
        );
    }
    Ok(())
}

#[test]
fn a_kid_removed_before_any_frame_authenticated_leaves_nothing_behind() -> TestResult {
    let mut s = Sender::new(SUITE);
    s.add_key(KID, b"base key")?;
    let mut r = Receiver::new(SUITE);
    r.add_key(KID, b"base key")?;
    r.remove_key(KID);
    assert!(!r.forget_kid(KID), "no counter seen: nothing to remember");
    Ok(())
}
