//! The meeting page the SFU serves (`wasm/web/`): a person opens `http://SFU/` in Chromium and
//! joins with their camera. The HTML and JavaScript are compiled in; the WebAssembly module is
//! read from [`crate::SfuConfig::wasm`] (build it with
//! `cargo build --release -p sframe-wasm --target wasm32-unknown-unknown`).

use std::path::Path;

/// The page's files: path, content type, content.
const FILES: [(&str, &str, &str); 6] = [
    (
        "/",
        "text/html",
        include_str!("../../wasm/web/meeting.html"),
    ),
    (
        "/meeting.html",
        "text/html",
        include_str!("../../wasm/web/meeting.html"),
    ),
    (
        "/meeting.js",
        "text/javascript",
        include_str!("../../wasm/web/meeting.js"),
    ),
    (
        "/call.js",
        "text/javascript",
        include_str!("../../wasm/web/call.js"),
    ),
    (
        "/worker.js",
        "text/javascript",
        include_str!("../../wasm/web/worker.js"),
    ),
    (
        "/sframe.js",
        "text/javascript",
        include_str!("../../wasm/web/sframe.js"),
    ),
];

/// The module's path on the server.
pub(crate) const WASM_PATH: &str = "/sframe_wasm.wasm";

/// A GET of `path`: `(status, content type, body)`, or `None` if it is not the page's.
pub(crate) fn get(path: &str, wasm: Option<&Path>) -> Option<(u16, &'static str, Vec<u8>)> {
    if path == WASM_PATH {
        let Some(module) = wasm else {
            let why = "this SFU serves no WebAssembly module (start it with --wasm FILE)\n";
            return Some((404, "text/plain", why.as_bytes().to_vec()));
        };
        return Some(match std::fs::read(module) {
            Ok(bytes) => (200, "application/wasm", bytes),
            Err(_) => (500, "text/plain", b"the module cannot be read\n".to_vec()),
        });
    }
    FILES
        .iter()
        .find(|(p, _, _)| *p == path)
        .map(|(_, kind, body)| (200, *kind, body.as_bytes().to_vec()))
}
