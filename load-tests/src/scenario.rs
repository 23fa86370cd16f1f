//! What a run does: the named presets of the benchmark report, the mix of what senders do,
//! and a scenario fully specified.

use std::time::Duration;

use clap::ValueEnum;

/// The named scenarios of the benchmark report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Preset {
    /// 1,000 users in 300-member groups, 50 msg/s for 60 s.
    Floor,
    /// The floor at 100 msg/s.
    Spike,
    /// Ten times the floor's connections: 10,000 users in 300-member groups, 50 msg/s.
    Tenx,
    /// Ten times the floor's rate: 1,000 users in 300-member groups, 500 msg/s (150,000
    /// deliveries/s).
    Fanout,
    /// 1,000 users connecting and disconnecting 10 times; RSS must come back.
    Churn,
    /// The floor spread over every --url (two nodes or more).
    Cluster,
    /// 1,000 users in 300-member groups, 50 events/s for 60 s: sends, edits and reactions
    /// (send=80,edit=10,react=10), every client tracking revs and repairing gaps.
    Lifecycle,
    /// A reaction storm: one message, then every member of one 300-member group reacts to it,
    /// in random order, within one second.
    Storm,
}

/// The weights of what senders do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mix {
    pub send: u32,
    pub edit: u32,
    pub react: u32,
}

/// One thing a sender does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Send,
    Edit,
    React,
}

impl Default for Mix {
    fn default() -> Self {
        Mix {
            send: 100,
            edit: 0,
            react: 0,
        }
    }
}

impl Mix {
    /// `send=80,edit=10,react=10` (any of them, in any order; those left out are 0).
    pub fn parse(text: &str) -> Result<Mix, String> {
        let mut mix = Mix {
            send: 0,
            edit: 0,
            react: 0,
        };
        for part in text.split(',') {
            let (name, weight) = part
                .split_once('=')
                .ok_or_else(|| format!("{part:?} is not name=weight"))?;
            let weight: u32 = weight
                .trim()
                .parse()
                .map_err(|_| format!("{weight:?} is not a whole number"))?;
            match name.trim() {
                "send" => mix.send = weight,
                "edit" => mix.edit = weight,
                "react" => mix.react = weight,
                other => return Err(format!("{other:?} is not send, edit or react")),
            }
        }
        if mix.send + mix.edit + mix.react == 0 {
            return Err("the weights add up to 0".into());
        }
        Ok(mix)
    }

    /// The action for `roll`, a number in `0..self.total()`.
    pub fn pick(&self, roll: u32) -> Action {
        if roll < self.send {
            Action::Send
        } else if roll < self.send + self.edit {
            Action::Edit
        } else {
            Action::React
        }
    }

    pub fn total(&self) -> u32 {
        self.send + self.edit + self.react
    }
}

impl std::fmt::Display for Mix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "send={},edit={},react={}",
            self.send, self.edit, self.react
        )
    }
}

/// A run, fully specified.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    pub name: String,
    pub urls: Vec<String>,
    pub users: usize,
    pub group_size: usize,
    pub rate: f64,
    pub duration: Duration,
    pub ramp: f64,
    pub cycles: usize,
    pub mix: Mix,
    /// One message, then each user reacts to it once, in random order, at `rate` a second.
    pub storm: bool,
}

impl Scenario {
    /// Source addresses that keep each one within a node's default per-address limits
    /// (1,000 sessions, 100 handshakes per second), with a margin: 900 and 90.
    pub fn source_addrs_needed(&self) -> u8 {
        let by_sessions = self.users.div_ceil(900);
        let by_rate = (self.ramp / 90.0).ceil() as usize;
        by_sessions.max(by_rate).clamp(1, 254) as u8
    }
}

impl Preset {
    pub(crate) fn scenario(self) -> Scenario {
        let floor = Scenario {
            name: "floor".into(),
            urls: Vec::new(),
            users: 1000,
            group_size: 300,
            rate: 50.0,
            duration: Duration::from_secs(60),
            ramp: 1000.0,
            cycles: 0,
            mix: Mix::default(),
            storm: false,
        };
        match self {
            Preset::Floor => floor,
            Preset::Spike => Scenario {
                name: "spike".into(),
                rate: 100.0,
                ..floor
            },
            Preset::Tenx => Scenario {
                name: "tenx".into(),
                users: 10_000,
                ramp: 2000.0,
                ..floor
            },
            Preset::Fanout => Scenario {
                name: "fanout".into(),
                rate: 500.0,
                ..floor
            },
            Preset::Churn => Scenario {
                name: "churn".into(),
                rate: 0.0,
                duration: Duration::ZERO,
                cycles: 10,
                ..floor
            },
            Preset::Cluster => Scenario {
                name: "cluster".into(),
                ..floor
            },
            Preset::Lifecycle => Scenario {
                name: "lifecycle".into(),
                mix: Mix {
                    send: 80,
                    edit: 10,
                    react: 10,
                },
                ..floor
            },
            Preset::Storm => Scenario {
                name: "storm".into(),
                users: 300,
                rate: 300.0,
                duration: Duration::from_secs(1),
                mix: Mix {
                    send: 0,
                    edit: 0,
                    react: 100,
                },
                storm: true,
                ..floor
            },
        }
    }
}
