//! `sframe encrypt`: a plaintext in, one SFrame frame out.

use clap::Args;
use sframe_core::Sender;

use crate::args::{KeyArgs, parse_u64};
use crate::encoding;
use crate::error::CliError;

const EXAMPLES: &str = "\
Examples:
  printf 'hello' | sframe encrypt --suite 4 --base-key 000102030405060708090a0b0c0d0e0f \\
    --kid 7 --ctr 0 > frame.bin

  echo 64726166742d696574662d736672616d652d656e63 | sframe encrypt --hex --suite 4 \\
    --base-key 000102030405060708090a0b0c0d0e0f --kid 0x123 --ctr 0x4567 \\
    --metadata 4945544620534672616d65205747";

/// Encrypt stdin into one SFrame frame (header || ciphertext || tag)
#[derive(Debug, Args)]
#[command(
    long_about = "Encrypt stdin into one SFrame frame: header || ciphertext || tag.\n\n\
        The header carries the KID and CTR given here. The AEAD key and salt come from the\n\
        base key by the RFC 9605 key schedule, and the nonce from the salt and CTR.",
    after_help = EXAMPLES
)]
pub struct EncryptArgs {
    #[command(flatten)]
    key: KeyArgs,

    /// Counter of this frame (decimal or 0x-prefixed hex); never reuse a KID and CTR pair
    #[arg(long, value_name = "CTR", value_parser = parse_u64, allow_negative_numbers = true)]
    ctr: u64,

    /// Read the plaintext as hex text and write the frame as hex (one line)
    #[arg(long)]
    hex: bool,
}

pub fn run(args: &EncryptArgs) -> Result<(), CliError> {
    let KeyArgs {
        suite,
        base_key,
        kid,
        ..
    } = &args.key;
    let mut sender = Sender::new(*suite);
    // Only the arguments can make this fail (an empty base key).
    sender
        .add_key_with_counter(*kid, &base_key.0, args.ctr)
        .map_err(CliError::usage)?;
    let mut buf = encoding::read_input(args.hex)?;
    sender.encrypt(*kid, args.key.metadata(), &mut buf)?;
    encoding::write_output(args.hex, &buf)
}
