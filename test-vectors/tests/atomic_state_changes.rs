//! Attack/misuse class: a fallible state change that fails halfway.
//!
//! Every fallible call on a `Sender` or `Receiver` checks first and commits last: on error
//! the object is exactly as before (issue 14, case 2: a failed ratchet destroyed the current
//! key).

#![forbid(unsafe_code)]

use sframe_core::{
    CipherSuite, MAX_SECRET_LEN, RatchetKid, Receiver, Sender, SframeError as Error,
};

const SUITE: CipherSuite = CipherSuite::Aes128GcmSha256_128;

type TestResult = Result<(), Error>;

fn encrypt(s: &mut Sender, kid: u64) -> Result<Vec<u8>, Error> {
    let mut f = b"frame".to_vec();
    s.encrypt(kid, &[], &mut f)?;
    Ok(f)
}

#[test]
fn a_ratchet_whose_next_kid_is_taken_keeps_the_current_key() -> TestResult {
    let mut s = Sender::new(SUITE);
    // Generation 1, R = 2: step 0 is KID 4, step 1 is KID 5.
    let kid = s.add_ratcheting_key(1, 2, b"ratchet base")?;
    assert_eq!(kid, 4);
    s.add_key(5, b"some other key")?;
    assert_eq!(s.ratchet(4), Err(Error::KidInUse(5)));
    // Nothing changed: KID 4 still encrypts, with its counter where it was.
    assert_eq!(s.next_counter(4), Ok(0));
    let mut r = Receiver::new(SUITE);
    r.add_ratcheting_key(RatchetKid::new(1, 2, 0)?, b"ratchet base")?;
    let f = encrypt(&mut s, 4)?;
    let mut g = f.clone();
    assert_eq!(r.decrypt_in_place(&[], &mut g)?, b"frame");
    // Once the KID is free, the same ratchet works.
    assert!(s.remove_key(5));
    let next = s.ratchet(4)?;
    assert_eq!(next, 5);
    let mut g = encrypt(&mut s, next)?;
    assert_eq!(r.decrypt_in_place(&[], &mut g)?, b"frame");
    Ok(())
}

#[test]
fn a_ratchet_onto_an_exhausted_kid_keeps_the_current_key() -> TestResult {
    let mut s = Sender::new(SUITE);
    s.add_key_with_counter(5, b"k", u64::MAX)?;
    encrypt(&mut s, 5)?;
    assert!(s.remove_key(5));
    let kid = s.add_ratcheting_key(1, 2, b"ratchet base")?;
    assert_eq!(s.ratchet(kid), Err(Error::CounterExhausted { kid: 5 }));
    assert_eq!(s.next_counter(kid), Ok(0));
    encrypt(&mut s, kid)?;
    Ok(())
}

#[test]
fn a_ratchet_onto_a_used_kid_resumes_its_counters() -> TestResult {
    let mut s = Sender::new(SUITE);
    // R = 1: steps alternate between KIDs 2 and 3.
    let k0 = s.add_ratcheting_key(1, 1, b"ratchet base")?;
    encrypt(&mut s, k0)?;
    encrypt(&mut s, k0)?;
    let k1 = s.ratchet(k0)?;
    let k2 = s.ratchet(k1)?;
    assert_eq!(k2, k0);
    assert_eq!(
        s.next_counter(k2),
        Ok(2),
        "no nonce reuse under a wrapped KID"
    );
    Ok(())
}

#[test]
fn a_failed_add_ratcheting_key_installs_nothing() -> TestResult {
    let mut r = Receiver::new(SUITE);
    let at = RatchetKid::new(3, 4, 0)?;
    let too_long = vec![7u8; MAX_SECRET_LEN + 1];
    assert!(matches!(
        r.add_ratcheting_key(at, &too_long),
        Err(Error::InvalidKeyLength { .. })
    ));
    assert!(!r.has_key(at.kid()));
    assert_eq!(r.key_count(), 0);
    assert_eq!(r.ratchet_position(3), None);
    // And it can be added properly afterwards.
    r.add_ratcheting_key(at, b"fine")?;
    assert!(r.has_key(at.kid()));
    Ok(())
}

#[test]
fn failed_adds_change_nothing() -> TestResult {
    let mut s = Sender::new(SUITE);
    let mut r = Receiver::new(SUITE);
    s.add_key(1, b"k")?;
    r.add_key(1, b"k")?;
    let f = encrypt(&mut s, 1)?;
    assert_eq!(s.add_key(1, b"other"), Err(Error::KidInUse(1)));
    assert_eq!(r.add_key(1, b"other"), Err(Error::KidInUse(1)));
    assert_eq!(s.add_key(2, b""), Err(Error::EmptyBaseKey));
    assert_eq!(r.add_key(2, b""), Err(Error::EmptyBaseKey));
    assert!(!r.has_key(2));
    assert_eq!(s.kids().count(), 1);
    assert_eq!(s.next_counter(1), Ok(1));
    let mut g = f;
    assert_eq!(r.decrypt_in_place(&[], &mut g)?, b"frame");
    Ok(())
}
