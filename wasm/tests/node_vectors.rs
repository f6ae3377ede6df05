//! The RFC 9605 vectors (and the WG's AES-256-CTR-HMAC ones) pass in the wasm build, run under
//! Node: `wasm/node/vectors.mjs` encrypts and decrypts every frame vector, refuses a tampered
//! frame, and checks every header vector's encoding.

mod support;

use std::process::Command;

#[test]
fn rfc9605_vectors_pass_in_the_wasm_build_under_node() {
    let Some(node) = support::node() else {
        support::available("node", false, "apt-get install nodejs");
        return;
    };
    let Some(module) = support::wasm_module_or_skip() else {
        return;
    };
    let root = support::workspace();
    let out = Command::new(node)
        .arg(root.join("wasm/node/vectors.mjs"))
        .arg(&module)
        .arg(root.join("test-vectors/vectors"))
        .output()
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    eprintln!("{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "vectors.mjs failed");
    // 8 frame vectors (encrypt, decrypt, tampered) and 289 header vectors.
    assert!(
        stdout.contains("vectors: 313 passed, 0 failed"),
        "unexpected summary: {stdout}"
    );
}
