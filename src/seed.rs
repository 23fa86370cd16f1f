//! `confab seed`: users, groups and long-lived access tokens for load tests, in bulk inserts
//! and with one bcrypt hash shared by all seeded users (nobody can log in as them).

use std::io::Write;
use std::time::{Duration, Instant};

use anyhow::Context;
use diesel_async::AsyncConnection;
use serde::Serialize;
use uuid::Uuid;

use crate::auth::{password, refresh, JwtKeys};
use crate::cli::SeedArgs;
use crate::config::Settings;
use crate::db;
use crate::models::conversation::{self, NewConversation, GROUP};
use crate::models::member::{self, NewMember, MEMBER, OWNER};
use crate::models::user::{self, NewUser};

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SeedOutput {
    pub users: Vec<SeededUser>,
    pub groups: Vec<SeededGroup>,
    pub token_expires_at: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SeededUser {
    pub id: Uuid,
    pub username: String,
    pub token: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SeededGroup {
    pub id: Uuid,
    pub member_ids: Vec<Uuid>,
}

/// `confab seed`: seeds and writes the JSON to `args.out`.
pub fn run(settings: Settings, args: SeedArgs) -> anyhow::Result<()> {
    actix_web::rt::System::new().block_on(async move {
        let started = Instant::now();
        crate::startup::prepare_database(&settings).await?;
        let output = seed(&settings, &args).await?;
        let json = serde_json::to_vec(&output)?;
        if args.out.as_os_str() == "-" {
            std::io::stdout().write_all(&json)?;
        } else {
            std::fs::write(&args.out, json)
                .with_context(|| format!("writing {}", args.out.display()))?;
        }
        log::info!(
            users = output.users.len(),
            groups = output.groups.len(),
            seconds = started.elapsed().as_secs_f64();
            "seeded"
        );
        Ok(())
    })
}

/// Creates `args.users` users in groups of `args.group_size` and issues their tokens.
pub async fn seed(settings: &Settings, args: &SeedArgs) -> anyhow::Result<SeedOutput> {
    let pool = db::build_pool(settings.database.url.expose(), 1, Duration::from_secs(10))?;
    let mut conn = pool.get().await?;
    let batch = &Uuid::new_v4().simple().to_string()[..8];
    let password_hash = password::hash(refresh::generate(), settings.auth.bcrypt_cost).await?;

    let ids: Vec<Uuid> = (0..args.users).map(|_| Uuid::now_v7()).collect();
    let usernames: Vec<String> = (0..args.users)
        .map(|i| format!("load_{batch}_{i}"))
        .collect();
    let emails: Vec<String> = usernames
        .iter()
        .map(|u| format!("{u}@load.confab.invalid"))
        .collect();
    let new_users: Vec<NewUser> = (0..ids.len())
        .map(|i| NewUser {
            id: ids[i],
            email: &emails[i],
            username: &usernames[i],
            display_name: &usernames[i],
            password_hash: &password_hash,
        })
        .collect();

    let groups: Vec<SeededGroup> = ids
        .chunks(args.group_size as usize)
        .map(|chunk| SeededGroup {
            id: Uuid::now_v7(),
            member_ids: chunk.to_vec(),
        })
        .collect();
    let titles: Vec<String> = (0..groups.len())
        .map(|i| format!("Load group {batch} #{i}"))
        .collect();
    let new_groups: Vec<NewConversation> = groups
        .iter()
        .zip(&titles)
        .map(|(g, title)| NewConversation {
            id: g.id,
            kind: GROUP,
            title: Some(title),
            dm_key: None,
            created_by: g.member_ids[0],
        })
        .collect();
    let memberships = memberships(&groups);

    conn.transaction::<_, diesel::result::Error, _>(async move |conn| {
        user::insert_many(conn, &new_users).await?;
        conversation::insert_many(conn, &new_groups).await?;
        member::insert_many(conn, &memberships).await?;
        Ok(())
    })
    .await?;

    let ttl = Duration::from_secs(u64::from(args.token_ttl_hours) * 3600);
    let jwt = JwtKeys::new(
        settings.jwt_secret(),
        Duration::from_secs(settings.auth.access_ttl_secs),
    );
    let users = ids
        .iter()
        .zip(usernames)
        .map(|(&id, username)| SeededUser {
            id,
            username,
            token: jwt.issue_access_for(id, ttl),
        })
        .collect();
    let expires = chrono::Utc::now() + chrono::Duration::from_std(ttl)?;
    Ok(SeedOutput {
        users,
        groups,
        token_expires_at: crate::messaging::view::timestamp(&expires),
    })
}

/// Every member of every group; the first member owns it.
fn memberships(groups: &[SeededGroup]) -> Vec<NewMember<'static>> {
    groups
        .iter()
        .flat_map(|g| {
            g.member_ids
                .iter()
                .enumerate()
                .map(|(i, &user_id)| NewMember {
                    conversation_id: g.id,
                    user_id,
                    role: if i == 0 { OWNER } else { MEMBER },
                })
        })
        .collect()
}
