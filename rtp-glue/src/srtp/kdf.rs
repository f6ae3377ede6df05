//! Session-key derivation (RFC 3711 section 4.3, key derivation rate 0; RFC 7714 section 11).
//!
//! ```text
//! x   = (label << 48) XOR master_salt      (right-aligned on a 14-byte salt; a 12-byte GCM
//!                                           salt is padded with two zero bytes on the right)
//! key = AES-CM(master_key, IV = x << 16)   truncated to the length wanted
//! ```

use sframe_core::Backend;
use sframe_core::primitives::AesCtr;

use crate::error::Error;

/// SRTP encryption key.
pub(crate) const LABEL_RTP_ENCRYPTION: u8 = 0x00;
/// SRTP authentication key.
pub(crate) const LABEL_RTP_AUTH: u8 = 0x01;
/// SRTP salt.
pub(crate) const LABEL_RTP_SALT: u8 = 0x02;
/// SRTCP encryption key.
pub(crate) const LABEL_RTCP_ENCRYPTION: u8 = 0x03;
/// SRTCP authentication key.
pub(crate) const LABEL_RTCP_AUTH: u8 = 0x04;
/// SRTCP salt.
pub(crate) const LABEL_RTCP_SALT: u8 = 0x05;

/// The AES-CM PRF keyed with the master key.
pub(crate) struct Kdf {
    prf: AesCtr,
    salt: [u8; 14],
}

impl Kdf {
    /// `master_salt` is 14 bytes (AES-CM profiles) or 12 (AES-GCM).
    pub(crate) fn new(
        backend: Backend,
        master_key: &[u8],
        master_salt: &[u8],
    ) -> Result<Self, Error> {
        let prf = AesCtr::new(backend, master_key)
            .map_err(|_| Error::InvalidConfig("SRTP master key of the wrong length"))?;
        let mut salt = [0u8; 14];
        salt.get_mut(..master_salt.len())
            .filter(|_| master_salt.len() == 12 || master_salt.len() == 14)
            .ok_or(Error::InvalidConfig("SRTP master salt of the wrong length"))?
            .copy_from_slice(master_salt);
        Ok(Self { prf, salt })
    }

    /// Fills `out` with the session key of `label`.
    pub(crate) fn derive(&self, label: u8, out: &mut [u8]) -> Result<(), Error> {
        let mut iv = [0u8; 16];
        iv[..14].copy_from_slice(&self.salt);
        // key_id = label || r (r = 0, 48 bits), right-aligned against the 112-bit salt.
        iv[7] ^= label;
        out.fill(0);
        self.prf
            .apply_keystream(&iv, out)
            .map_err(|_| Error::InvalidConfig("SRTP key derivation failed"))
    }
}

impl Drop for Kdf {
    fn drop(&mut self) {
        self.salt.fill(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unhex(s: &str) -> Vec<u8> {
        hex_decode(&s.replace([' ', '\n'], ""))
    }

    fn hex_decode(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn rfc3711_appendix_b3_every_backend() {
        let key = unhex("E1F97A0D3E018BE0D64FA32C06DE4139");
        let salt = unhex("0EC675AD498AFEEBB6960B3AABE6");
        for &backend in Backend::ALL {
            let kdf = Kdf::new(backend, &key, &salt).unwrap();
            let mut enc = [0u8; 16];
            kdf.derive(LABEL_RTP_ENCRYPTION, &mut enc).unwrap();
            assert_eq!(enc.to_vec(), unhex("C61E7A93744F39EE10734AFE3FF7A087"));
            let mut s = [0u8; 14];
            kdf.derive(LABEL_RTP_SALT, &mut s).unwrap();
            assert_eq!(s.to_vec(), unhex("30CBBC08863D8C85D49DB34A9AE1"));
            // The appendix prints 94 bytes of authentication key; HMAC-SHA1 uses the first 20.
            let mut auth = [0u8; 94];
            kdf.derive(LABEL_RTP_AUTH, &mut auth).unwrap();
            assert_eq!(
                auth.to_vec(),
                unhex(
                    "CEBE321F6FF7716B6FD4AB49AF256A156D38BAA48F0A0ACF3C34E2359E6CDBCE
                     E049646C43D9327AD175578EF72270986371C10C9A369AC2F94A8C5FBCDDDC25
                     6D6E919A48B610EF17C2041E474035766B68642C59BBFC2F34DB60DBDFB2"
                )
            );
        }
    }

    #[test]
    fn rfc6188_aes256_prf_every_backend() {
        // RFC 6188 section 7.2: the AES-256 PRF.
        let key = unhex("F0F04914B513F2763A1B1FA130F10E2998F6F6E43E4309D1E622A0E332B9F1B6");
        let salt = unhex("3B04803DE51EE7C96423AB5B78D2");
        for &backend in Backend::ALL {
            let kdf = Kdf::new(backend, &key, &salt).unwrap();
            let mut enc = [0u8; 32];
            kdf.derive(LABEL_RTP_ENCRYPTION, &mut enc).unwrap();
            assert_eq!(
                enc.to_vec(),
                unhex("5BA1064E30EC51613CAD926C5A28EF731EC7FB397F70A960653CAF06554CD8C4")
            );
            let mut s = [0u8; 14];
            kdf.derive(LABEL_RTP_SALT, &mut s).unwrap();
            assert_eq!(s.to_vec(), unhex("FA31791685CA444A9E07C6C64E93"));
        }
    }

    #[test]
    fn wrong_lengths_are_refused() {
        let b = Backend::default();
        assert!(Kdf::new(b, &[0; 15], &[0; 14]).is_err());
        assert!(Kdf::new(b, &[0; 16], &[0; 13]).is_err());
        assert!(Kdf::new(b, &[0; 16], &[0; 15]).is_err());
        assert!(Kdf::new(b, &[0; 32], &[0; 12]).is_ok());
    }
}
