//! A whole end-to-end encrypted meeting in one process, on a seeded simulated network and
//! clock: an MLS group (`sframe-mls`) keying SFrame media (`sframe-core`) that travels as RTP
//! over SRTP through an SFU holding no media key (`sframe-rtp`), with people joining and
//! leaving. A ledger, kept apart from the code under test, records what was sent to whom and
//! when and checks the invariants: no key-rollover drop, no removed member decrypts what was
//! sent after its removal, no member decrypts what was sent before it joined, every frame is
//! accounted for, all members show the same security code, the SFU never sees plaintext.
//!
//! ```
//! use sframe_sim::{Config, Meeting, Report};
//!
//! // Three people, one second of audio and video, nobody joining or leaving later.
//! let config = Config {
//!     participants: 3,
//!     duration_us: 1_000_000,
//!     churn_per_minute: 0.0,
//!     ..Config::default()
//! };
//! let mut meeting = Meeting::new(config)?;
//! meeting.run(&mut |_progress| {})?;
//! let report = Report::new(&meeting, 0.0);
//! assert!(report.ok, "{:?}", report.violations);
//! assert_eq!(report.meeting.present_at_end, 3);
//! assert!(report.totals.decrypted > 0);
//! assert_eq!(report.totals.dropped.rollover, 0);
//! assert_eq!(report.sfu.plaintext_seen, 0);
//! assert!(report.render().contains("invariants: all held"));
//! # Ok::<(), sframe_sim::SimError>(())
//! ```
//!
//! The network and the clock are usable alone: a [`Link`] says when each copy of a packet
//! arrives (or that it is lost), a [`Schedule`] delivers events in time order, and the same
//! seed gives the same run.
//!
//! ```
//! use sframe_sim::{Link, LinkConfig, Schedule};
//!
//! let mut link = Link::new(LinkConfig { loss: 0.5, ..LinkConfig::CLEAN }, 7);
//! let mut schedule = Schedule::new();
//! for n in 0..100u32 {
//!     for at in link.transmit(n as u64 * 1_000).arrivals() {
//!         schedule.at(at, n);
//!     }
//! }
//! let mut delivered = 0;
//! while let Some((_at, _packet)) = schedule.pop() {
//!     delivered += 1;
//! }
//! let stats = link.stats();
//! assert_eq!(delivered, stats.sent - stats.lost);
//! assert!(stats.lost > 0);
//! ```
//!
//! Nothing reads a clock except to measure CPU time for the report: times are simulated
//! microseconds. Modules are private; everything is re-exported here.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod cause;
mod config;
mod cost;
mod error;
mod ledger;
mod link;
mod media;
mod meeting;
mod membership;
mod meter;
mod render;
mod report;
mod rng;
mod schedule;
mod speech;
mod stream;
mod traffic;

pub use cause::Cause;
pub use config::{
    ACK_DELAY_US, AUDIO_LEVEL_ID, BATCH_PER_MEMBER_US, BATCH_US, Config, EPOCH_BITS,
    FORWARD_ALL_UP_TO, LINGER_US, MAX_GROUP, MTU, SRTP_PROFILE, batch_interval_us,
};
pub use cost::{Floor, Reference};
pub use error::{MediaError, MlsStep, SimError};
pub use ledger::{
    CANARY, Dropped, Entitlements, FrameRecord, Ledger, Outcomes, Person, Pid, Tally,
    contains_canary, is_payload, payload,
};
pub use link::{Link, LinkConfig, LinkStats, Transit};
pub use media::InboundStats;
pub use meeting::{KeyringLog, Meeting, Progress, Sending, SfuSeen};
pub use meter::{CryptoMeters, Meter};
pub use report::{
    ConfigView, CostView, CryptoView, ForwardingView, KeyringView, LinkView, MeetingView,
    NetworkView, ParticipantView, Report, SfuView, StageView, SwitchLatency, Totals,
};
pub use rng::Rng;
pub use schedule::Schedule;
pub use stream::Kind;
