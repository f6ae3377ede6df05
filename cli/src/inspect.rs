//! `sframe inspect`: the header of a frame, as one JSON line.

use clap::Args;
use serde::Serialize;
use sframe_core::Header;

use crate::encoding;
use crate::error::CliError;

const EXAMPLES: &str = "\
Output fields:
  kid          the key ID
  ctr          the counter
  header_len   bytes of the header (1 to 17)
  payload_len  bytes after the header: ciphertext + tag (the suite is not known here,
               so the two are not told apart)

Examples:
  sframe inspect < frame.bin
  echo 9901234567449408b6f4 | sframe inspect --hex
  # {\"kid\":291,\"ctr\":17767,\"header_len\":5,\"payload_len\":5}";

/// Print a frame's header as one JSON line: kid, ctr, header_len, payload_len
#[derive(Debug, Args)]
#[command(
    long_about = "Parse the header of the SFrame frame on stdin and print it as one JSON line:\n\
        {\"kid\":..,\"ctr\":..,\"header_len\":..,\"payload_len\":..}.\n\n\
        payload_len is the frame's length minus the header's: ciphertext and tag together.\n\
        Nothing is decrypted and no key is needed.",
    after_help = EXAMPLES
)]
pub struct InspectArgs {
    /// Read the frame as hex text (the output is JSON either way)
    #[arg(long)]
    hex: bool,
}

/// What `inspect` prints.
#[derive(Debug, Serialize)]
struct HeaderReport {
    kid: u64,
    ctr: u64,
    header_len: usize,
    /// Ciphertext and tag.
    payload_len: usize,
}

pub fn run(args: &InspectArgs) -> Result<(), CliError> {
    let frame = encoding::read_input(args.hex)?;
    let (header, header_len) = Header::parse(&frame)?;
    let report = HeaderReport {
        kid: header.kid,
        ctr: header.ctr,
        header_len,
        payload_len: frame.len().saturating_sub(header_len),
    };
    let json = serde_json::to_string(&report)
        .map_err(|e| CliError::runtime(format!("writing JSON: {e}")))?;
    encoding::write_stdout(format!("{json}\n").as_bytes())
}
