//! What a meeting looks like: the knobs a caller turns ([`Config`]) and the fixed parts.

use sframe_core::CipherSuite;
use sframe_rtp::{ForwardingConfig, Mode, SrtpProfile};

use crate::error::SimError;
use crate::link::LinkConfig;

/// The packet size every sender keeps to.
pub const MTU: usize = 1200;
/// The SRTP profile of every leg.
pub const SRTP_PROFILE: SrtpProfile = SrtpProfile::Aes128CmHmacSha1_80;
/// The leader commits what is pending at most this often (in a small group; see
/// [`batch_interval_us`]).
pub const BATCH_US: u64 = 2_000_000;
/// ... and at most once per this much time per member of the group.
pub const BATCH_PER_MEMBER_US: u64 = 10_000;
/// The RFC 6464 audio-level header extension's ID (one-byte form) on every audio packet.
pub const AUDIO_LEVEL_ID: u8 = 1;
/// Up to this many participants the SFU forwards everything to everyone unless told otherwise
/// ([`Config::default_forwarding`]).
pub const FORWARD_ALL_UP_TO: u32 = 100;
/// A removed participant stays connected to the SFU this long after the commit removing it
/// (a slow SFU, or an eavesdropper), keeping its keys.
pub const LINGER_US: u64 = 2_000_000;
/// Acknowledgements of a new epoch reach the other members after up to this long.
pub const ACK_DELAY_US: u64 = 100_000;
/// KID epoch bits (E).
pub const EPOCH_BITS: u8 = 4;
/// A silent sender with [`Config::dtx`] sends one audio frame this often (Opus DTX's
/// comfort-noise updates come every 400 ms).
pub const DTX_INTERVAL_US: u64 = 400_000;
/// The largest group.
pub const MAX_GROUP: u32 = 2_000;

/// How long the leader waits between commits in a group of `members`: [`BATCH_US`], or
/// [`BATCH_PER_MEMBER_US`] per member if that is longer.
///
/// Every member pays for every commit, and with openmls that cost grows with the group
/// (mls-keying/BENCHMARKING.md: about 11 ms per member for a 5+5 commit at 1,000 members), so
/// the group's total MLS work per second grows with the square of its size unless the leader
/// batches more as it grows: at 1,000 members it commits every 10 s, so each commit carries
/// the joins and leaves of those 10 s.
pub fn batch_interval_us(members: usize) -> u64 {
    BATCH_US.max(members as u64 * BATCH_PER_MEMBER_US)
}

/// What the meeting looks like. [`Config::default`] is `sframe meeting` without flags.
#[derive(Clone, Debug)]
pub struct Config {
    /// Participants at the start, the leader included (at least 2).
    pub participants: u32,
    /// Simulated time of media; the run adds 3 s for the last packets and commits.
    pub duration_us: u64,
    /// Join and leave requests per simulated minute, about half each.
    pub churn_per_minute: f64,
    /// Every link, sender to SFU and SFU to receiver.
    pub link: LinkConfig,
    /// The SFrame cipher suite.
    pub suite: CipherSuite,
    /// One SFrame frame per media frame, or per RTP packet.
    pub mode: Mode,
    /// Commits and Welcomes reach each member after a delay of up to this long.
    pub commit_delay_us: u64,
    /// Longest a sender keeps the old epoch after a join, waiting for acknowledgements.
    pub grace_us: u64,
    /// Seed of the network and the schedule (MLS key material is fresh randomness).
    pub seed: u64,
    /// What the SFU forwards to whom ([`Config::default_forwarding`] by default).
    pub forwarding: ForwardingConfig,
    /// Audio discontinuous transmission, as Opus DTX does it: a sender whose audio is silence
    /// (its RFC 6464 voice bit clear) sends one frame per [`DTX_INTERVAL_US`] instead of one
    /// per 20 ms ([`Config::default_dtx`] by default).
    pub dtx: bool,
}

impl Config {
    /// Checks the values a meeting cannot run with: fewer than 2 participants or more than
    /// [`MAX_GROUP`], no media, a negative or non-finite churn, probabilities outside [0, 1].
    pub fn check(&self) -> Result<(), SimError> {
        let probability = |p: f64| (0.0..=1.0).contains(&p);
        let l = &self.link;
        if !(2..=MAX_GROUP).contains(&self.participants) {
            Err(SimError::InvalidConfig("participants"))
        } else if self.duration_us == 0 {
            Err(SimError::InvalidConfig("duration_us"))
        } else if !(self.churn_per_minute.is_finite() && self.churn_per_minute >= 0.0) {
            Err(SimError::InvalidConfig("churn_per_minute"))
        } else if !(probability(l.loss) && probability(l.reorder) && probability(l.duplicate)) {
            Err(SimError::InvalidConfig("link"))
        } else {
            Ok(())
        }
    }
}

impl Config {
    /// The SFU's policy for a meeting of `participants` when the caller names none: everything
    /// to everyone up to [`FORWARD_ALL_UP_TO`] participants; beyond, as real SFUs do, the
    /// audio of the 3 loudest speakers and the video of the last 6 speakers.
    pub const fn default_forwarding(participants: u32) -> ForwardingConfig {
        if participants <= FORWARD_ALL_UP_TO {
            ForwardingConfig::forward_all()
        } else {
            ForwardingConfig::speakers(3, 6, AUDIO_LEVEL_ID)
        }
    }
}

impl Config {
    /// Whether senders use audio DTX in a meeting of `participants` when the caller does not
    /// say: above [`FORWARD_ALL_UP_TO`] participants, as clients do in large meetings (the
    /// default run, every frame to everyone, keeps sending every audio frame).
    pub const fn default_dtx(participants: u32) -> bool {
        participants > FORWARD_ALL_UP_TO
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            participants: 10,
            duration_us: 20_000_000,
            churn_per_minute: 20.0,
            link: LinkConfig {
                loss: 0.02,
                reorder: 0.01,
                duplicate: 0.0,
                delay_us: 20_000,
                jitter_us: 5_000,
                reorder_min_us: 5_000,
                reorder_max_us: 40_000,
            },
            suite: CipherSuite::Aes128GcmSha256_128,
            mode: Mode::PerFrame,
            commit_delay_us: 300_000,
            grace_us: 500_000,
            seed: 1,
            forwarding: Self::default_forwarding(10),
            dtx: Self::default_dtx(10),
        }
    }
}
