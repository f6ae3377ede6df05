//! Arguments shared by the subcommands, and their parsers.

use clap::Args;
use sframe_core::CipherSuite;

use crate::encoding;

const BASE_KEY_HELP: &str = "\
Base key in hex, of any length but not empty. The RFC 9605 key schedule derives the
KID's AEAD key and salt from it (HKDF). Command-line arguments are visible to other
local users: this tool is for tests and interoperability, not for real keys.";

const METADATA_HELP: &str = "\
Metadata in hex [default: none]. It is authenticated with the frame but not carried in
it (RFC 9605 section 4.4.3), so the decrypting side must give the same bytes.";

/// The suite, key and KID a frame is protected under, and the metadata bound to it.
#[derive(Debug, Args)]
pub struct KeyArgs {
    /// Cipher suite: 1..8, 0x0001..0x0008 or a registry name
    #[arg(long, value_name = "SUITE", value_parser = parse_suite, long_help = suite_help())]
    pub suite: CipherSuite,

    /// Base key in hex (not empty); the per-KID key and salt are derived from it
    #[arg(long, value_name = "HEX", value_parser = parse_hex, long_help = BASE_KEY_HELP)]
    pub base_key: HexBytes,

    /// Key ID (decimal or 0x-prefixed hex)
    #[arg(long, value_name = "KID", value_parser = parse_u64, allow_negative_numbers = true)]
    pub kid: u64,

    /// Metadata in hex, authenticated but not carried in the frame [default: none]
    #[arg(long, value_name = "HEX", value_parser = parse_hex, long_help = METADATA_HELP)]
    pub metadata: Option<HexBytes>,
}

impl KeyArgs {
    /// The metadata bytes (empty when none was given).
    pub fn metadata(&self) -> &[u8] {
        self.metadata.as_ref().map_or(&[], |m| &m.0)
    }
}

/// Bytes given in hex on the command line. (A newtype so that clap sees one value, not many.)
#[derive(Clone, Debug)]
pub struct HexBytes(pub Vec<u8>);

fn parse_hex(s: &str) -> Result<HexBytes, String> {
    encoding::decode_hex(s.as_bytes())
        .map(HexBytes)
        .map_err(|e| format!("bad hex: {e}"))
}

pub fn parse_suite(s: &str) -> Result<CipherSuite, String> {
    // Every registered suite is implemented, so any failure means the name is unknown.
    s.parse::<CipherSuite>().map_err(|_| {
        "unknown cipher suite (expected 1..8, 0x0001..0x0008 or a name such as \
         AES_128_GCM_SHA256_128; see --help)"
            .to_owned()
    })
}

/// A `u64` in decimal or with a `0x` prefix in hex.
pub fn parse_u64(s: &str) -> Result<u64, String> {
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => s.parse::<u64>(),
    }
    .map_err(|e| format!("{e} (expected a 64-bit unsigned integer, decimal or 0x-prefixed hex)"))
}

/// The long help of `--suite`: every suite with its id and tag length.
fn suite_help() -> String {
    let mut help =
        String::from("Cipher suite, by number (4), hex id (0x0004) or registry name (any case):");
    for suite in CipherSuite::ALL {
        help.push_str(&format!(
            "\n  {}  0x{:04x}  {:<26}  {:>2}-byte tag",
            suite.id(),
            suite.id(),
            suite.name(),
            suite.tag_len()
        ));
    }
    help
}
