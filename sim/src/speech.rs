//! Who speaks when: the RFC 6464 audio level every sender puts on its audio packets, which an
//! SFU's forwarding policy reads to pick the loudest speakers.
//!
//! One person has the floor at a time, for a turn of about [`TURN_MEAN_US`] (exponential);
//! during a turn someone else may chime in. The others are quiet: their level is room noise,
//! well below speech. Drawn from a generator of its own, so the levels never change what the
//! rest of the simulation draws.

use sframe_rtp::AudioLevel;

use crate::ledger::Pid;
use crate::rng::Rng;

/// A speaker's turn lasts this long on average.
pub(crate) const TURN_MEAN_US: u64 = 3_000_000;

#[derive(Debug)]
pub(crate) struct Floor {
    rng: Rng,
    speaker: Option<Pid>,
    second: Option<Pid>,
    until: u64,
}

impl Floor {
    pub(crate) fn new(seed: u64) -> Self {
        Self {
            rng: Rng::new(seed ^ 0x5eec_4f10_0123_4567),
            speaker: None,
            second: None,
            until: 0,
        }
    }

    /// The level of `pid`'s audio frame at `t`; `talkers` are the pids that may take the floor
    /// (those sending), of which `is_talker` tells membership.
    pub(crate) fn level(
        &mut self,
        pid: Pid,
        t: u64,
        people: usize,
        is_talker: &dyn Fn(Pid) -> bool,
    ) -> AudioLevel {
        let gone = |p: Option<Pid>| p.is_some_and(|p| !is_talker(p));
        if t >= self.until || gone(self.speaker) {
            self.speaker = self.pick(people, is_talker);
            self.second = if self.rng.chance(0.3) {
                self.pick(people, is_talker)
                    .filter(|&s| Some(s) != self.speaker)
            } else {
                None
            };
            let turn = -(1.0 - self.rng.unit()).ln() * TURN_MEAN_US as f64;
            // Nobody found (few are sending yet): look again soon.
            let turn = if self.speaker.is_some() {
                (turn as u64).max(200_000)
            } else {
                20_000
            };
            self.until = t + turn;
        }
        if self.speaker == Some(pid) {
            AudioLevel::new(20 + self.rng.below(20) as u8, true)
        } else if self.second == Some(pid) {
            AudioLevel::new(40 + self.rng.below(25) as u8, true)
        } else {
            AudioLevel::new(100 + self.rng.below(27) as u8, false)
        }
    }

    /// Someone sending, at random (some tries; nobody if few are sending).
    fn pick(&mut self, people: usize, is_talker: &dyn Fn(Pid) -> bool) -> Option<Pid> {
        (0..64)
            .map(|_| self.rng.below(people as u64) as Pid)
            .find(|&p| is_talker(p))
    }
}
