//! What `sframe bench --json` and `sframe bench --srtp --json` print: every contender, and
//! ratios consistent with the times (measured with a tiny budget).

use std::time::Duration;

use sframe_benches::quick::{Budget, compare, json, rows};
use sframe_benches::send_path::compare_send;
use sframe_benches::sfu::sfu_forwarding;
use sframe_benches::srtp::{compare_srtp, srtp_json};
use sframe_core::CipherSuite;
use sframe_rtp::SrtpProfile;

const TINY: Budget = Budget {
    rounds: 1,
    round: Duration::from_millis(1),
};

#[test]
fn sframe_json_has_every_contender_and_consistent_ratios() {
    let mut results = Vec::new();
    for suite in [
        CipherSuite::Aes128GcmSha256_128,
        CipherSuite::Aes128CtrHmacSha256_80,
    ] {
        results.extend(compare(suite, 160, TINY));
    }
    let json = json(&rows(&results), TINY);
    let rows = json["rows"].as_array().expect("rows");
    // Two suites x one size x two operations.
    assert_eq!(rows.len(), 4);
    for row in rows {
        let ns = row["ns"].as_object().expect("ns per contender");
        for name in [
            "ours/aws-lc-rs",
            "ours/rustcrypto",
            "aead/aws-lc-rs",
            "aead/rustcrypto",
        ] {
            let t = ns[name].as_f64().unwrap_or(0.0);
            assert!(t > 0.0 && t.is_finite(), "{name}: {t}");
        }
        let ratio = row["ours_over_aead_aws_lc_rs"].as_f64().expect("ratio");
        let expected = ns["ours/aws-lc-rs"].as_f64().unwrap_or(0.0)
            / ns["aead/aws-lc-rs"].as_f64().unwrap_or(1.0);
        assert!((ratio - expected).abs() < 1e-9);
        // The crates.io crate's ring backend has the GCM suites only.
        let is_gcm = row["suite_id"] == 4;
        assert_eq!(ns.contains_key("peer/ring"), is_gcm, "{row}");
        assert_eq!(row["peer_over_ours"].is_number(), is_gcm);
    }
}

#[test]
fn srtp_json_has_every_profile_contender_the_sfu_and_the_send_path() {
    let mut rows = Vec::new();
    for profile in SrtpProfile::ALL {
        rows.extend(compare_srtp(profile, 160, TINY));
    }
    let json = srtp_json(&rows, &sfu_forwarding(TINY), &compare_send(TINY), TINY);
    let rows = json["srtp"].as_array().expect("srtp rows");
    // Four profiles x one size x two operations.
    assert_eq!(rows.len(), 8);
    let mut profiles: Vec<&str> = rows.iter().filter_map(|r| r["profile"].as_str()).collect();
    profiles.dedup();
    assert_eq!(
        profiles,
        [
            "SRTP_AES128_CM_HMAC_SHA1_80",
            "SRTP_AES128_CM_HMAC_SHA1_32",
            "SRTP_AEAD_AES_128_GCM",
            "SRTP_AEAD_AES_256_GCM"
        ]
    );
    for row in rows {
        assert_eq!(row["size"].as_u64(), Some(160));
        assert!(matches!(row["op"].as_str(), Some("protect" | "unprotect")));
        let libsrtp2 = libsrtp2_peer::installed();
        assert!(
            libsrtp2 || std::env::var_os("CI").is_none(),
            "CI installs libsrtp2-dev"
        );
        let names = ["ns_ours", "ns_floor", "ns_webrtc_srtp", "ns_libsrtp2"];
        for name in names
            .into_iter()
            .filter(|n| libsrtp2 || *n != "ns_libsrtp2")
        {
            let t = row[name].as_f64().unwrap_or(0.0);
            assert!(t > 0.0 && t.is_finite(), "{name}: {t}");
        }
    }
    for name in ["pps_ours", "pps_webrtc_srtp", "pps_ours_copying"] {
        let pps = json["sfu"][name].as_f64().unwrap_or(0.0);
        assert!(pps > 0.0 && pps.is_finite(), "{name}: {pps}");
    }
    let send = &json["send"];
    for name in ["ns_send", "ns_sframe_floor", "ns_srtp_floor"] {
        let ns = send[name].as_f64().unwrap_or(0.0);
        assert!(ns > 0.0 && ns.is_finite(), "{name}: {ns}");
    }
    let sum = send["ns_sframe_floor"].as_f64().unwrap_or(0.0)
        + send["ns_srtp_floor"].as_f64().unwrap_or(0.0);
    assert_eq!(send["ns_floor_sum"].as_f64(), Some(sum));
    let ratio = send["send_over_floor_sum"].as_f64().expect("ratio");
    assert!((ratio - send["ns_send"].as_f64().unwrap_or(0.0) / sum).abs() < 1e-9);
    // One frame, one packet of at most 1,200 bytes.
    let bytes = send["packet_bytes"].as_u64().unwrap_or(0);
    assert!((1100..=1200).contains(&bytes), "{bytes}");
}
