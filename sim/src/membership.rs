//! Joins, leaves and commits: the leader batches requests into commits, and every member
//! processes its commit or Welcome after its own delay.

use std::time::Instant;

use crate::config::{LINGER_US, MAX_GROUP, batch_interval_us};
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

/// A commit or Welcome going to at least this many members is prepared for all of them at once,
/// in parallel (`Meeting::prepare_all`).
const PARALLEL_FROM: usize = 16;

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
            let members = self
                .ledger
                .epoch_members
                .values()
                .next_back()
                .map_or(1, |m| m.len());
            let when = self
                .last_commit
                .map_or(t, |last| (last + batch_interval_us(members)).max(t));
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
        self.ledger.commit_at.insert(epoch, t);
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
        let members: Vec<Pid> = previous.iter().copied().filter(|&p| p != 0).collect();
        self.prepare_all(commit, &members);
        for &p in &members {
            self.send_mls(p, commit, t);
        }
        if let Some(bytes) = out.welcome {
            let welcome = self.msgs.len();
            self.msgs.push(Msg::Welcome { epoch, bytes });
            self.prepare_all(welcome, &joiners);
            for &p in &joiners {
                self.send_mls(p, welcome, t);
            }
        }
        Ok(())
    }

    /// openmls's part of processing message `msg` (a commit or a Welcome), for each of `to`
    /// whose inbox is empty, on every core at once; each member applies the result when the
    /// message reaches it (`deliver_mls`). The expensive part of MLS (decryption, tree and
    /// signature validation) needs no clock and is independent per member, so this changes
    /// no outcome, only the wall time. Below [`PARALLEL_FROM`] recipients, nothing is done
    /// ahead.
    fn prepare_all(&mut self, msg: usize, to: &[Pid]) {
        if to.len() < PARALLEL_FROM {
            return;
        }
        let started = Instant::now();
        let mut wanted = vec![false; self.people.len()];
        for &p in to {
            wanted[p] = true;
        }
        let (bytes, welcome) = match &self.msgs[msg] {
            Msg::Commit { bytes, .. } => (bytes.as_slice(), false),
            Msg::Welcome { bytes, .. } => (bytes.as_slice(), true),
        };
        let mut work: Vec<_> = self
            .people
            .iter_mut()
            .zip(wanted)
            .filter(|(p, wanted)| *wanted && p.inbox_pending == 0 && p.prepared.is_none())
            .map(|(p, _)| (&mut p.member, &mut p.prepared))
            .collect();
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let chunk = work.len().div_ceil(threads).max(1);
        std::thread::scope(|s| {
            for part in work.chunks_mut(chunk) {
                s.spawn(move || {
                    for (member, prepared) in part.iter_mut() {
                        let result = if welcome {
                            member.prepare_welcome(bytes)
                        } else {
                            member.prepare_commit(bytes)
                        };
                        **prepared = Some((msg, result));
                    }
                });
            }
        });
        self.mls_nanos += started.elapsed().as_nanos() as u64;
    }

    pub(crate) fn send_mls(&mut self, to: Pid, msg: usize, t: u64) {
        let delay = self.rng.between(0, self.config.commit_delay_us);
        let when = (t + delay).max(self.people[to].inbox_until);
        self.people[to].inbox_until = when;
        self.people[to].inbox_pending += 1;
        self.schedule.at(when, Ev::Mls { to, msg });
    }

    pub(crate) fn deliver_mls(&mut self, to: Pid, msg: usize, t: u64) -> Result<(), SimError> {
        let started = Instant::now();
        let person = &mut self.people[to];
        person.inbox_pending -= 1;
        let prepared = match person.prepared.take() {
            Some((m, prepared)) if m == msg => Some(prepared),
            other => {
                person.prepared = other;
                None
            }
        };
        match &self.msgs[msg] {
            Msg::Commit { epoch, bytes } => {
                let epoch = *epoch;
                let member = &mut self.people[to].member;
                let out = match prepared {
                    Some(p) => p.and_then(|p| member.apply(at(t), p)),
                    None => member.process_commit(at(t), bytes),
                }
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
                let member = &mut self.people[to].member;
                let out = match prepared {
                    Some(p) => p.and_then(|p| member.apply(at(t), p)),
                    None => member.join(at(t), bytes),
                }
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
