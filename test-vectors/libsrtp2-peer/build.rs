//! Compiles the small C shim (it builds libsrtp2's policy struct on the C side, so no struct
//! layout is mirrored in Rust) and links the system libsrtp2.

fn main() {
    println!("cargo:rerun-if-changed=src/shim.c");
    cc::Build::new()
        .file("src/shim.c")
        .compile("libsrtp2_peer_shim");
    println!("cargo:rustc-link-lib=srtp2");
}
