//! The users a run connects as: a seed file from `confab seed`, or one made by running it.

use std::path::Path;

use anyhow::Context;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Seed {
    pub users: Vec<SeededUser>,
    pub groups: Vec<SeededGroup>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SeededUser {
    pub id: String,
    pub token: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SeededGroup {
    pub id: String,
    pub member_ids: Vec<String>,
}

impl Seed {
    pub fn read(path: &Path) -> anyhow::Result<Seed> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
    }

    /// Runs `confab seed` for `users` in groups of `group_size`, against `database_url` or
    /// else the DATABASE_URL it finds (like the server).
    pub async fn generate(
        confab: &Path,
        database_url: Option<&str>,
        users: usize,
        group_size: usize,
    ) -> anyhow::Result<Seed> {
        let mut command = tokio::process::Command::new(confab);
        if let Some(url) = database_url {
            command.env("DATABASE_URL", url);
        }
        let output = command
            .args(["seed", "--users", &users.to_string()])
            .args(["--group-size", &group_size.to_string(), "--out", "-"])
            .output()
            .await
            .with_context(|| format!("running {} seed", confab.display()))?;
        anyhow::ensure!(
            output.status.success(),
            "{} seed failed: {}",
            confab.display(),
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).context("parsing the output of confab seed")
    }

    /// For each user, in order: the index of their group in `groups`, if any.
    pub fn group_of_users(&self) -> Vec<Option<usize>> {
        let mut index = std::collections::HashMap::new();
        for (g, group) in self.groups.iter().enumerate() {
            for member in &group.member_ids {
                index.insert(member.as_str(), g);
            }
        }
        self.users
            .iter()
            .map(|u| index.get(u.id.as_str()).copied())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_confab_seed_writes() {
        let json = r#"{"users":[{"id":"a","username":"u_a","token":"ta"},{"id":"b","username":"u_b","token":"tb"},{"id":"c","username":"u_c","token":"tc"}],
            "groups":[{"id":"g1","memberIds":["a","b"]}],"tokenExpiresAt":"2026-01-01T00:00:00.000Z"}"#;
        let seed: Seed = serde_json::from_str(json).unwrap();
        assert_eq!(seed.users.len(), 3);
        assert_eq!(seed.group_of_users(), vec![Some(0), Some(0), None]);
    }
}
