//! `sframe decrypt`: one SFrame frame in, its plaintext out.

use clap::Args;
use sframe_core::{Backend, Header, Receiver, ReceiverConfig};

use crate::args::KeyArgs;
use crate::encoding;
use crate::error::CliError;

const EXAMPLES: &str = "\
Examples:
  sframe decrypt --suite 4 --base-key 000102030405060708090a0b0c0d0e0f --kid 7 < frame.bin

  echo 9901234567b7412c2513a1b66dbb48841bbaf17f598751176ad847681a69c6d0b091c07018ce4adb34eb | sframe decrypt --hex --suite 4 \\
    --base-key 000102030405060708090a0b0c0d0e0f --kid 0x123 \\
    --metadata 4945544620534672616d65205747";

/// Decrypt one SFrame frame from stdin and write its plaintext
#[derive(Debug, Args)]
#[command(
    long_about = "Decrypt one SFrame frame (header || ciphertext || tag) from stdin and write\n\
        its plaintext.\n\n\
        The frame's KID must be --kid. The CTR is taken from the header; no replay check is\n\
        made, since each invocation sees a single frame.",
    after_help = EXAMPLES
)]
pub struct DecryptArgs {
    #[command(flatten)]
    key: KeyArgs,

    /// Read the frame as hex text and write the plaintext as hex (one line)
    #[arg(long)]
    hex: bool,
}

pub fn run(args: &DecryptArgs) -> Result<(), CliError> {
    let KeyArgs {
        suite,
        base_key,
        kid,
        ..
    } = &args.key;
    let config = ReceiverConfig {
        replay_window: None,
        ..ReceiverConfig::default()
    };
    let mut receiver = Receiver::with_config(*suite, Backend::default(), config);
    // Only the arguments can make this fail (an empty base key).
    receiver
        .add_key(*kid, &base_key.0)
        .map_err(CliError::usage)?;
    let mut frame = encoding::read_input(args.hex)?;
    let (header, _) = Header::parse(&frame)?;
    if header.kid != *kid {
        return Err(CliError::runtime(format!(
            "KID mismatch: the frame's KID is {} but --kid is {kid}",
            header.kid
        )));
    }
    receiver.decrypt(args.key.metadata(), &mut frame)?;
    encoding::write_output(args.hex, &frame)
}
