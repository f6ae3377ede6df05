//! A native MLS member lending its SFrame keys to a browser page, until the page is an MLS
//! member of its own: the member serves each epoch's exported base key, its roster and the
//! member's leaf on `GET /keys`, and the page's wasm keyring sends as that leaf and decrypts
//! everyone (`wasm/web/meeting.js`). The SFU never sees these keys: the key server is the
//! member's, on its own address.
//!
//! The document: `{ "suite": 4, "leaf": 2, "epochs": [{ "epoch": 3, "key": "<hex>",
//! "members": [0, 1, 2] }] }`, the last [`KEPT_EPOCHS`] epochs, oldest first. The member holds
//! back its acknowledgement of an epoch until the page has fetched a document with it, so the
//! others switch to a new epoch only once the page can decrypt it.
//!
//! Whoever can reach the server gets the keys: it listens on loopback only, and answers
//! cross-origin requests (the page comes from the SFU's origin) only from the origin it is
//! given. A page on the same machine, under the same user, is what this is for.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;

use sframe_core::CipherSuite;
use sframe_mls::DelegatedEpoch;
use tiny_http::{Header, Method, Response, Server};
use zeroize::Zeroizing;

use crate::error::WebrtcError;

/// How many epochs the document holds (frames of the previous epochs still arrive for a
/// while after a change).
pub const KEPT_EPOCHS: usize = 3;

#[derive(Default)]
struct Lent {
    suite: Option<CipherSuite>,
    epochs: VecDeque<DelegatedEpoch>,
    /// The newest epoch a served document held.
    fetched: Option<u64>,
    fetches: u64,
}

/// A key server for one browser page (see the module docs). Stops with the last handle.
pub struct KeyDelegate {
    addr: SocketAddr,
    lent: Arc<Mutex<Lent>>,
    server: Arc<Server>,
    thread: Option<JoinHandle<()>>,
}

impl core::fmt::Debug for KeyDelegate {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("KeyDelegate")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl KeyDelegate {
    /// Serves `GET /keys` on `bind` (a loopback address; port 0 picks one). `allow_origin`:
    /// the origin of the page (the SFU's `http://HOST:PORT`), allowed to read it cross-origin.
    ///
    /// # Errors
    /// [`WebrtcError::InvalidConfig`] for a non-loopback address; [`WebrtcError::Io`].
    pub fn start(bind: SocketAddr, allow_origin: Option<String>) -> Result<Self, WebrtcError> {
        if !bind.ip().is_loopback() {
            return Err(WebrtcError::InvalidConfig(
                "the key server listens on loopback only",
            ));
        }
        let server = Server::http(bind)
            .map_err(|e| WebrtcError::Io(std::io::Error::other(e.to_string())))?;
        let addr = server
            .server_addr()
            .to_ip()
            .ok_or(WebrtcError::InvalidConfig("not an IP address"))?;
        let server = Arc::new(server);
        let lent = Arc::new(Mutex::new(Lent::default()));
        let thread = {
            let (server, lent) = (server.clone(), lent.clone());
            std::thread::Builder::new()
                .name("key-delegate".into())
                .spawn(move || serve(&server, &lent, allow_origin.as_deref()))?
        };
        Ok(Self {
            addr,
            lent,
            server,
            thread: Some(thread),
        })
    }

    /// The document's URL, `http://ADDR/keys`.
    pub fn url(&self) -> String {
        format!("http://{}/keys", self.addr)
    }

    /// How many documents were served.
    pub fn fetches(&self) -> u64 {
        self.lock().fetches
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Lent> {
        self.lent.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds an epoch (the older ones beyond [`KEPT_EPOCHS`] are dropped and zeroized).
    pub(crate) fn publish(&self, suite: CipherSuite, epoch: DelegatedEpoch) {
        let mut lent = self.lock();
        lent.suite = Some(suite);
        lent.epochs.retain(|e| e.epoch != epoch.epoch);
        lent.epochs.push_back(epoch);
        while lent.epochs.len() > KEPT_EPOCHS {
            lent.epochs.pop_front();
        }
    }

    /// The newest epoch the page has fetched.
    pub(crate) fn fetched(&self) -> Option<u64> {
        self.lock().fetched
    }
}

impl Drop for KeyDelegate {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            // A panicked thread has nothing left to clean up.
            let _ = t.join();
        }
        self.lock().epochs.clear();
    }
}

fn serve(server: &Server, lent: &Mutex<Lent>, allow_origin: Option<&str>) {
    for request in server.incoming_requests() {
        let path = request.url().split('?').next().unwrap_or_default();
        let mut reply = match (request.method(), path) {
            (Method::Get, "/keys") => {
                let mut lent = lent.lock().unwrap_or_else(PoisonError::into_inner);
                match document(&lent) {
                    Some(doc) => {
                        lent.fetched = lent.epochs.back().map(|e| e.epoch);
                        lent.fetches += 1;
                        Response::from_data(doc.as_bytes().to_vec()).with_status_code(200)
                    }
                    None => Response::from_string("no epoch yet\n").with_status_code(503),
                }
            }
            (_, "/keys") => Response::from_string("GET only\n").with_status_code(405),
            _ => Response::from_string("not found\n").with_status_code(404),
        };
        let headers = [
            Some(("Content-Type", "application/json")),
            Some(("Cache-Control", "no-store")),
            allow_origin.map(|o| ("Access-Control-Allow-Origin", o)),
        ];
        for (k, v) in headers.into_iter().flatten() {
            if let Ok(h) = Header::from_bytes(k, v) {
                reply.add_header(h);
            }
        }
        // A client that went away does not need its answer.
        let _ = request.respond(reply);
    }
}

/// The JSON document (see the module docs); `None` before the first epoch. Zeroized on drop
/// (the copy the HTTP response makes is the server library's).
fn document(lent: &Lent) -> Option<Zeroizing<String>> {
    use core::fmt::Write;
    let suite = lent.suite?;
    let leaf = lent.epochs.back()?.leaf;
    let mut doc = Zeroizing::new(String::with_capacity(256));
    let _ = write!(
        doc,
        "{{\"suite\":{},\"leaf\":{leaf},\"epochs\":[",
        suite.id()
    );
    for (i, e) in lent.epochs.iter().enumerate() {
        let comma = if i == 0 { "" } else { "," };
        let _ = write!(doc, "{comma}{{\"epoch\":{},\"key\":\"", e.epoch);
        for b in e.base_key.iter() {
            let _ = write!(doc, "{b:02x}");
        }
        let members: Vec<String> = e.members.iter().map(u32::to_string).collect();
        let _ = write!(doc, "\",\"members\":[{}]}}", members.join(","));
    }
    doc.push_str("]}");
    Some(doc)
}
