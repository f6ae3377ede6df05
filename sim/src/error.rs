//! The simulator's errors: a meeting that cannot run says which participant, which step and
//! which library error stopped it.

use core::fmt;

use sframe_mls::MlsError;

use crate::ledger::Pid;

/// An MLS operation of the meeting (what a participant was doing when openmls or the keyring
/// refused).
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MlsStep {
    /// Making a member and its key package.
    NewMember,
    /// The leader creating the group.
    CreateGroup,
    /// The leader committing joins and leaves.
    Commit,
    /// The leader merging its own commit.
    Merge,
    /// A member processing the commit to this epoch.
    ProcessCommit {
        /// The epoch the commit enters.
        epoch: u64,
    },
    /// A joiner processing its Welcome to this epoch.
    Join {
        /// The epoch the Welcome enters.
        epoch: u64,
    },
}

impl fmt::Display for MlsStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NewMember => f.write_str("making its member and key package"),
            Self::CreateGroup => f.write_str("creating the group"),
            Self::Commit => f.write_str("committing"),
            Self::Merge => f.write_str("merging its commit"),
            Self::ProcessCommit { epoch } => write!(f, "processing the commit to epoch {epoch}"),
            Self::Join { epoch } => write!(f, "joining epoch {epoch}"),
        }
    }
}

/// Why a meeting could not run. (A run that completes but breaks an invariant is not an
/// error: the [`Report`](crate::Report) lists the violations.)
#[non_exhaustive]
#[derive(Debug)]
pub enum SimError {
    /// A configuration value is out of range (caller misuse): the name of the field.
    InvalidConfig(&'static str),
    /// [`Meeting::run`](crate::Meeting::run) was called a second time (caller misuse).
    AlreadyRun,
    /// The KID layout of the configuration is invalid.
    KidLayout(sframe_mls::SframeMlsError),
    /// An MLS operation of a participant failed.
    Mls {
        /// Who.
        participant: Pid,
        /// Doing what.
        step: MlsStep,
        /// What `sframe-mls` said.
        source: MlsError,
    },
    /// A member entered another epoch (or leaf) than the leader's commit said.
    EpochMismatch {
        /// Who.
        participant: Pid,
        /// The epoch of the commit or Welcome.
        expected_epoch: u64,
        /// The epoch it entered.
        epoch: u64,
        /// The leaf the commit gave it (for a joiner).
        expected_leaf: Option<u32>,
        /// The leaf it holds.
        leaf: Option<u32>,
    },
    /// Setting up a participant's SRTP or its place at the SFU failed.
    Rtp {
        /// Who.
        participant: Pid,
        /// What `sframe-rtp` said.
        source: sframe_rtp::SframeRtpError,
    },
    /// A participant's media path could not send a frame.
    Media {
        /// Who.
        participant: Pid,
        /// What failed.
        source: MediaError,
    },
}

impl fmt::Display for SimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidConfig(field) => write!(f, "the configuration's {field} is out of range"),
            Self::AlreadyRun => f.write_str("the meeting has already run"),
            Self::KidLayout(e) => write!(f, "the KID layout: {e}"),
            Self::Mls {
                participant,
                step,
                source,
            } => write!(f, "p{participant} {step}: {source}"),
            Self::EpochMismatch {
                participant,
                expected_epoch,
                epoch,
                expected_leaf,
                leaf,
            } => write!(
                f,
                "p{participant} entered epoch {epoch} at leaf {leaf:?}; the commit said epoch \
                 {expected_epoch}, leaf {expected_leaf:?}"
            ),
            Self::Rtp {
                participant,
                source,
            } => write!(f, "p{participant}'s SRTP or SFU setup: {source}"),
            Self::Media {
                participant,
                source,
            } => write!(f, "p{participant} sending: {source}"),
        }
    }
}

impl std::error::Error for SimError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::KidLayout(e) => Some(e),
            Self::Mls { source, .. } => Some(source),
            Self::Rtp { source, .. } => Some(source),
            Self::Media { source, .. } => Some(source),
            Self::EpochMismatch { .. } | Self::InvalidConfig(_) | Self::AlreadyRun => None,
        }
    }
}

/// Why a participant's media path could not send a frame (all caller misuse or a local
/// failure: nothing here comes from a peer).
#[non_exhaustive]
#[derive(Debug)]
pub enum MediaError {
    /// The keyring refused to seal (no epoch to send with, counter exhausted...).
    Keyring(sframe_mls::SframeMlsError),
    /// The media pipeline refused the frame or a packet (packetizer, codec payloader, SRTP).
    Rtp(sframe_rtp::SframeRtpError),
}

impl fmt::Display for MediaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Keyring(e) => write!(f, "keyring: {e}"),
            Self::Rtp(e) => write!(f, "media pipeline: {e}"),
        }
    }
}

impl std::error::Error for MediaError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Keyring(e) => Some(e),
            Self::Rtp(e) => Some(e),
        }
    }
}
