//! How bytes travel through stdin and stdout: raw, or as hex text with `--hex`.

use std::io::{Read, Write};

use crate::error::CliError;

/// Reads all of stdin. With `hex`, stdin is hex text (whitespace and newlines ignored);
/// otherwise its bytes are taken as they are.
pub fn read_input(hex: bool) -> Result<Vec<u8>, CliError> {
    let mut input = Vec::new();
    std::io::stdin()
        .lock()
        .read_to_end(&mut input)
        .map_err(|e| CliError::runtime(format!("reading stdin: {e}")))?;
    if hex {
        decode_hex(&input).map_err(|e| CliError::runtime(format!("stdin: bad hex: {e}")))
    } else {
        Ok(input)
    }
}

/// Writes `bytes` to stdout: as they are, or with `hex` as lowercase hex and a newline.
pub fn write_output(hex: bool, bytes: &[u8]) -> Result<(), CliError> {
    if hex {
        write_stdout(format!("{}\n", hex::encode(bytes)).as_bytes())
    } else {
        write_stdout(bytes)
    }
}

/// Writes `bytes` to stdout and flushes.
pub fn write_stdout(bytes: &[u8]) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    out.write_all(bytes)
        .and_then(|()| out.flush())
        .map_err(|e| CliError::runtime(format!("writing stdout: {e}")))
}

/// Decodes hex text, ignoring ASCII whitespace. The error names the first offending byte by
/// its offset in `text`.
pub fn decode_hex(text: &[u8]) -> Result<Vec<u8>, String> {
    let mut digits = Vec::with_capacity(text.len());
    for (offset, &byte) in text.iter().enumerate() {
        if byte.is_ascii_hexdigit() {
            digits.push(byte);
        } else if !byte.is_ascii_whitespace() {
            let shown = if byte.is_ascii_graphic() {
                format!("'{}'", char::from(byte))
            } else {
                format!("byte 0x{byte:02x}")
            };
            return Err(format!("invalid character {shown} at offset {offset}"));
        }
    }
    hex::decode(&digits).map_err(|e| match e {
        hex::FromHexError::OddLength => format!("odd number of hex digits ({})", digits.len()),
        other => other.to_string(),
    })
}
