//! Malformed signaling: each request the SFU cannot serve gets an HTTP error status, and the
//! SFU's sockets are free again once it stops (no leaked threads or sockets).

#![allow(clippy::unwrap_used)]

mod common;

use std::net::{TcpListener, UdpSocket};

use sframe_webrtc::MAX_OFFER_LEN;

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into()
}

fn post(url: &str, content_type: &str, body: &str) -> u16 {
    agent()
        .post(url)
        .header("Content-Type", content_type)
        .send(body)
        .unwrap()
        .status()
        .as_u16()
}

#[test]
fn signaling_errors_get_http_statuses() {
    let sfu = common::sfu();
    let whip = format!("{}/whip", sfu.url());
    // Not SDP.
    assert_eq!(post(&whip, "application/sdp", "hello"), 400);
    // SDP without any media line: str0m refuses it.
    let no_media = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n";
    assert_eq!(post(&whip, "application/sdp", no_media), 400);
    // Another content type.
    assert_eq!(post(&whip, "application/json", "{}"), 415);
    // Oversized.
    let big = "a".repeat(MAX_OFFER_LEN + 1);
    assert_eq!(post(&whip, "application/sdp", &big), 413);
    // Unknown resources and paths, wrong methods.
    let status =
        |r: Result<ureq::http::Response<ureq::Body>, ureq::Error>| r.unwrap().status().as_u16();
    assert_eq!(status(agent().delete(&format!("{whip}/999")).call()), 404);
    assert_eq!(
        status(agent().delete(&format!("{whip}/not-a-number")).call()),
        404
    );
    assert_eq!(status(agent().get(&whip).call()), 405);
    assert_eq!(
        status(agent().get(&format!("{}/other", sfu.url())).call()),
        404
    );
    let stats = sfu.stats();
    assert_eq!(stats.peers_added, 0, "no refused request created a peer");

    // A real participant's resource is deleted once; the second DELETE finds nothing.
    let p = common::join(&sfu, "alice", 0.5);
    let report = p.join().unwrap();
    assert!(report.audio_sent > 0);
    assert_eq!(status(agent().delete(&format!("{whip}/1")).call()), 404);

    let (http, udp) = (sfu.http_addr(), sfu.udp_addr());
    let stats = sfu.stop();
    assert_eq!(
        (stats.peers_added, stats.peers_left, stats.peers_now),
        (1, 1, 0)
    );
    // Both sockets are closed: their ports can be bound again.
    TcpListener::bind(http).unwrap();
    UdpSocket::bind(udp).unwrap();
}
