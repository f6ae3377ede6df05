//! The SFU's signaling: WHIP-style (RFC 9725) over HTTP/1.1 on loopback.
//!
//! - `POST /whip` with an SDP offer (`Content-Type: application/sdp`, at most
//!   [`MAX_OFFER_LEN`] bytes): `201 Created`, the SDP answer, and the participant's resource in
//!   `Location` (`/whip/ID`). An optional `?name=NAME` names the participant in the SFU's
//!   stats.
//! - `DELETE /whip/ID`: the participant leaves (`200`), removed from the group with a commit.
//! - `GET /` and the files it loads: the meeting page ([`crate::web`]), for a browser. An offer
//!   without a data channel (the page's) is a media-only participant: its keys are lent by a
//!   member ([`crate::KeyDelegate`]), and its media is forwarded as a member's.
//! - Errors: `400` an SDP that does not parse or that str0m refuses; `404` an unknown path or
//!   resource; `405` another method; `411` no length; `413` a body over the limit; `415` another
//!   content type.
//!
//! `tiny_http` serves it: a small, synchronous HTTP/1.1 server (no async runtime, one thread
//! here), which fits the SFU's std-threads design; signaling is a handful of requests per
//! participant, so its simplicity costs nothing.

use std::collections::HashSet;
use std::io::Read;
use std::net::SocketAddr;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use str0m::change::SdpOffer;
use str0m::{Candidate, Rtc};
use tiny_http::{Header, Method, Request, Response, Server};

use crate::delivery::PeerId;
use crate::web;

/// The largest SDP offer accepted.
pub const MAX_OFFER_LEN: usize = 64 * 1024;

/// What the signaling thread tells the media thread.
pub(crate) enum Command {
    /// A new participant's peer connection (its answer is sent).
    Add {
        id: PeerId,
        name: String,
        rtc: Box<Rtc>,
        /// It offered no data channel (a browser page keyed by a member).
        media_only: bool,
    },
    /// A participant asked to leave.
    Leave { id: PeerId },
}

/// The resources (participants) that exist, shared by both threads.
#[derive(Clone, Debug, Default)]
pub(crate) struct Registry(Arc<Mutex<HashSet<PeerId>>>);

impl Registry {
    fn insert(&self, id: PeerId) {
        if let Ok(mut s) = self.0.lock() {
            s.insert(id);
        }
    }

    pub(crate) fn remove(&self, id: PeerId) -> bool {
        self.0.lock().map(|mut s| s.remove(&id)).unwrap_or(false)
    }
}

type Reply = Response<std::io::Cursor<Vec<u8>>>;

fn status(code: u16, text: &str) -> Reply {
    Response::from_string(text).with_status_code(code)
}

/// Serves requests until the server is unblocked.
pub(crate) fn serve_http(
    server: &Server,
    http_addr: SocketAddr,
    udp_addr: SocketAddr,
    commands: &Sender<Command>,
    registry: &Registry,
    wasm: Option<&Path>,
) {
    let next_id = AtomicU64::new(1);
    for mut request in server.incoming_requests() {
        let path = request
            .url()
            .split('?')
            .next()
            .unwrap_or_default()
            .to_owned();
        let page = (*request.method() == Method::Get)
            .then(|| web::get(&path, wasm))
            .flatten();
        let reply = match page {
            Some((code, kind, body)) => {
                let mut reply = Response::from_data(body).with_status_code(code);
                if let Ok(h) = Header::from_bytes("Content-Type", kind) {
                    reply.add_header(h);
                }
                reply
            }
            // A panic while handling (a bug reached by what a client sent, e.g. in the SDP
            // parser) answers 500; the signaling thread goes on serving.
            None => catch_unwind(AssertUnwindSafe(|| {
                handle(
                    &mut request,
                    http_addr,
                    udp_addr,
                    commands,
                    registry,
                    &next_id,
                )
            }))
            .unwrap_or_else(|_| status(500, "internal error\n")),
        };
        // A client that went away does not need its answer.
        let _ = request.respond(reply);
    }
}

fn handle(
    request: &mut Request,
    http_addr: SocketAddr,
    udp_addr: SocketAddr,
    commands: &Sender<Command>,
    registry: &Registry,
    next_id: &AtomicU64,
) -> Reply {
    let url = request.url().to_owned();
    let (path, query) = url.split_once('?').unwrap_or((&url, ""));
    match (request.method(), path.strip_prefix("/whip")) {
        (Method::Post, Some("")) => offer(
            request, query, http_addr, udp_addr, commands, registry, next_id,
        ),
        (Method::Delete, Some(rest)) => {
            let id = rest
                .strip_prefix('/')
                .and_then(|s| s.parse::<PeerId>().ok());
            match id {
                Some(id) if registry.remove(id) => {
                    // The media thread is gone only at shutdown.
                    let _ = commands.send(Command::Leave { id });
                    status(200, "left\n")
                }
                _ => status(404, "no such resource\n"),
            }
        }
        (_, Some("")) => status(405, "POST an SDP offer\n"),
        (_, Some(rest)) if rest.starts_with('/') => status(405, "DELETE a resource\n"),
        _ => status(404, "not found\n"),
    }
}

#[allow(clippy::too_many_arguments)]
fn offer(
    request: &mut Request,
    query: &str,
    http_addr: SocketAddr,
    udp_addr: SocketAddr,
    commands: &Sender<Command>,
    registry: &Registry,
    next_id: &AtomicU64,
) -> Reply {
    let sdp_type = request.headers().iter().any(|h| {
        h.field.equiv("Content-Type") && h.value.as_str().trim().starts_with("application/sdp")
    });
    if !sdp_type {
        return status(415, "Content-Type must be application/sdp\n");
    }
    match request.body_length() {
        None => return status(411, "Content-Length required\n"),
        Some(n) if n > MAX_OFFER_LEN => return status(413, "offer too large\n"),
        Some(_) => {}
    }
    let mut body = String::new();
    let read = request
        .as_reader()
        .take(MAX_OFFER_LEN as u64 + 1)
        .read_to_string(&mut body);
    if read.is_err() {
        return status(400, "the offer is not UTF-8 text\n");
    }
    if body.len() > MAX_OFFER_LEN {
        return status(413, "offer too large\n");
    }
    let Ok(sdp) = SdpOffer::from_sdp_string(&body) else {
        return status(400, "the offer is not SDP\n");
    };
    let mut rtc = Rtc::builder()
        .set_rtp_mode(true)
        .set_crypto_provider(Arc::new(str0m::crypto::from_feature_flags()))
        .build(Instant::now());
    let Ok(candidate) = Candidate::host(udp_addr, "udp") else {
        return status(500, "no candidate\n");
    };
    rtc.add_local_candidate(candidate);
    let Ok(answer) = rtc.sdp_api().accept_offer(sdp) else {
        return status(400, "the offer is refused\n");
    };
    let id = next_id.fetch_add(1, Ordering::SeqCst);
    let name = query
        .split('&')
        .find_map(|kv| kv.strip_prefix("name="))
        .map_or_else(
            || format!("peer-{id}"),
            |n| unescape(n).chars().take(64).collect(),
        );
    registry.insert(id);
    if commands
        .send(Command::Add {
            id,
            name,
            rtc: Box::new(rtc),
            media_only: !body.lines().any(|l| l.starts_with("m=application")),
        })
        .is_err()
    {
        registry.remove(id);
        return status(503, "shutting down\n");
    }
    let location = format!("http://{http_addr}/whip/{id}");
    let headers = [
        Header::from_bytes("Content-Type", "application/sdp"),
        Header::from_bytes("Location", location.as_bytes()),
    ];
    let mut reply = Response::from_string(answer.to_sdp_string()).with_status_code(201);
    for h in headers.into_iter().flatten() {
        reply.add_header(h);
    }
    reply
}

/// A percent-encoded query value decoded; bytes that do not decode are kept as they are, and
/// the result is read as UTF-8 with replacement characters.
fn unescape(v: &str) -> String {
    let bytes = v.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (b, hex) {
            (b'%', Some(h)) => {
                out.push(h);
                i += 3;
            }
            (b'+', _) => {
                out.push(b' ');
                i += 1;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::unescape;

    #[test]
    fn query_values_decode() {
        assert_eq!(unescape("al%20ice+b"), "al ice b");
        assert_eq!(unescape("%zz%4"), "%zz%4");
        assert_eq!(unescape("%C3%A9"), "\u{e9}");
    }
}
