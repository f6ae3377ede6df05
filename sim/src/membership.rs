//! Joins, leaves and commits: the leader batches requests into commits, and every member
//! processes its commit or Welcome after its own delay.

use std::time::Instant;

use crate::config::{BATCH_US, LINGER_US, MAX_GROUP};
use crate::error::{MlsStep, SimError};
use crate::ledger::Pid;
use crate::meeting::{Ev, Meeting, Msg, at};

fn leader_error(step: MlsStep, source: sframe_mls::MlsError) -> SimError {
    SimError::Mls {
        participant: 0,
        step,
        source,
    }
}

/// Join and leave requests come in from this time until this long before the end.
pub(crate) const CHURN_START_US: u64 = 500_000;
const CHURN_STOP_BEFORE_END_US: u64 = 2_500_000;

impl Meeting {
    pub(crate) fn schedule_next_request(&mut self, from: u64) {
        if self.config.churn_per_minute <= 0.0 {
            return;
        }
        // Exponential gaps: a Poisson process of `churn` requests per minute.
        let mean_us = 60e6 / self.config.churn_per_minute;
        let gap = (-(1.0 - self.rng.unit()).ln() * mean_us) as u64;
        let when = from.saturating_add(gap);
        if when < self.end_us().saturating_sub(CHURN_STOP_BEFORE_END_US) {
            self.schedule.at(when, Ev::Request);
        }
    }

    pub(crate) fn schedule_commit(&mut self, t: u64) {
        if !self.commit_scheduled {
            self.commit_scheduled = true;
            let when = self.last_commit.map_or(t, |last| (last + BATCH_US).max(t));
            self.schedule.at(when, Ev::Commit);
        }
    }

    /// Members who may be asked to leave: in the group, not the leader, not leaving already.
    pub(crate) fn leave_candidates(&self) -> Vec<Pid> {
        (1..self.people.len())
            .filter(|&p| {
                let l = &self.ledger.people[p];
                l.joined_at.is_some()
                    && l.removal_epoch.is_none()
                    && !self.pending_leaves.contains(&p)
            })
            .collect()
    }

    /// Someone asks to join, or a member asks to leave (half the time each).
    pub(crate) fn request(&mut self, t: u64) -> Result<(), SimError> {
        let candidates = self.leave_candidates();
        let members = self.people[0].member.members().len() + self.pending_joins.len()
            - self.pending_leaves.len();
        let leave = self.rng.chance(0.5) && !candidates.is_empty() && members > 2;
        if leave {
            let p = candidates[self.rng.below(candidates.len() as u64) as usize];
            self.pending_leaves.push(p);
        } else if members < MAX_GROUP as usize {
            let p = self.add_participant()?;
            self.pending_joins.push(p);
        }
        self.schedule_commit(t);
        self.schedule_next_request(t);
        Ok(())
    }

    /// The leader commits every pending leave and join in one commit (a joiner may take the
    /// leaf a leaver vacates in the same commit: the keyring is told the removed leaves
    /// explicitly, so senders still switch at once on a removal).
    pub(crate) fn commit(&mut self, t: u64) -> Result<(), SimError> {
        self.commit_scheduled = false;
        let leavers = std::mem::take(&mut self.pending_leaves);
        let joiners = std::mem::take(&mut self.pending_joins);
        if joiners.is_empty() && leavers.is_empty() {
            return Ok(());
        }
        self.last_commit = Some(t);
        let key_packages: Vec<Vec<u8>> = joiners
            .iter()
            .filter_map(|&p| self.people[p].key_package.take())
            .collect();
        let removes: Vec<u32> = leavers
            .iter()
            .filter_map(|&p| self.ledger.people[p].leaf)
            .collect();
        let started = Instant::now();
        let leader = &mut self.people[0].member;
        let out = leader
            .commit(at(t), &key_packages, &removes)
            .map_err(|source| leader_error(MlsStep::Commit, source))?;
        leader
            .merge_pending_commit()
            .map_err(|source| leader_error(MlsStep::Merge, source))?;
        self.mls_nanos += started.elapsed().as_nanos() as u64;
        let epoch = out.epoch;
        self.note_sender_bits(epoch);
        self.commits += 1;
        self.joins += joiners.len() as u64;
        self.leaves += leavers.len() as u64;
        self.biggest_batch = self.biggest_batch.max(joiners.len() + leavers.len());

        // The ledger's own view of the new epoch.
        let previous = self
            .ledger
            .epoch_members
            .get(&(epoch - 1))
            .cloned()
            .unwrap_or_default();
        let mut members = previous.clone();
        for &p in &leavers {
            members.remove(&p);
            let l = &mut self.ledger.people[p];
            l.removal_epoch = Some(epoch);
            l.disconnect_at = Some(t + LINGER_US);
            self.schedule.at(t + LINGER_US, Ev::Kick(p));
        }
        for (i, &p) in joiners.iter().enumerate() {
            members.insert(p);
            let l = &mut self.ledger.people[p];
            l.join_epoch = Some(epoch);
            l.leaf = out.added.get(i).copied();
            self.connect(p, t)?;
        }
        self.ledger.epoch_members.insert(epoch, members);
        self.ledger.people[0].known_epoch = Some(epoch);
        self.record_code(0);
        self.drain(0, t);

        // The commit goes to everyone in the previous epoch (the removed too), the Welcome to
        // the joiners, each after its own delay, in order per recipient.
        let commit = self.msgs.len();
        self.msgs.push(Msg::Commit {
            epoch,
            bytes: out.commit,
        });
        for &p in previous.iter().filter(|&&p| p != 0) {
            self.send_mls(p, commit, t);
        }
        if let Some(bytes) = out.welcome {
            let welcome = self.msgs.len();
            self.msgs.push(Msg::Welcome { epoch, bytes });
            for &p in &joiners {
                self.send_mls(p, welcome, t);
            }
        }
        Ok(())
    }

    pub(crate) fn send_mls(&mut self, to: Pid, msg: usize, t: u64) {
        let delay = self.rng.between(0, self.config.commit_delay_us);
        let when = (t + delay).max(self.people[to].inbox_until);
        self.people[to].inbox_until = when;
        self.schedule.at(when, Ev::Mls { to, msg });
    }

    pub(crate) fn deliver_mls(&mut self, to: Pid, msg: usize, t: u64) -> Result<(), SimError> {
        let started = Instant::now();
        match &self.msgs[msg] {
            Msg::Commit { epoch, bytes } => {
                let epoch = *epoch;
                let out = self.people[to]
                    .member
                    .process_commit(at(t), bytes)
                    .map_err(|source| SimError::Mls {
                        participant: to,
                        step: MlsStep::ProcessCommit { epoch },
                        source,
                    })?;
                self.mls_nanos += started.elapsed().as_nanos() as u64;
                if out.epoch != epoch {
                    return Err(SimError::EpochMismatch {
                        participant: to,
                        expected_epoch: epoch,
                        epoch: out.epoch,
                        expected_leaf: None,
                        leaf: None,
                    });
                }
                let l = &mut self.ledger.people[to];
                l.known_epoch = Some(epoch);
                if out.self_removed {
                    l.departed_at = Some(t);
                    self.people[to].sending = false;
                } else {
                    self.record_code(to);
                }
            }
            Msg::Welcome { epoch, bytes } => {
                let epoch = *epoch;
                let out = self.people[to]
                    .member
                    .join(at(t), bytes)
                    .map_err(|source| SimError::Mls {
                        participant: to,
                        step: MlsStep::Join { epoch },
                        source,
                    })?;
                self.mls_nanos += started.elapsed().as_nanos() as u64;
                let leaf = self.people[to].member.own_leaf_index();
                let l = &mut self.ledger.people[to];
                if out.epoch != epoch || leaf != l.leaf {
                    return Err(SimError::EpochMismatch {
                        participant: to,
                        expected_epoch: epoch,
                        epoch: out.epoch,
                        expected_leaf: l.leaf,
                        leaf,
                    });
                }
                l.known_epoch = Some(epoch);
                l.joined_at = Some(t);
                self.record_code(to);
                self.start_media(to, t);
            }
        }
        self.drain(to, t);
        Ok(())
    }

    pub(crate) fn record_code(&mut self, pid: Pid) {
        if let Some(code) = self.people[pid].member.security_code() {
            self.ledger
                .codes
                .entry(code.epoch())
                .or_default()
                .insert(code.to_string());
        }
    }
}
