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
use crate::models::conversation::{self, NewConversation, GROUP, PRIVATE, PUBLIC};
use crate::models::member::{self, NewMember, MEMBER, OWNER};
use crate::models::user::{self, NewUser};

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SeedOutput {
    pub users: Vec<SeededUser>,
    pub groups: Vec<SeededGroup>,
    /// With `--workspace-channels`: the workspace of every seeded user.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workspace: Option<SeededWorkspace>,
    pub token_expires_at: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SeededWorkspace {
    pub id: Uuid,
    /// Its public channels, titled `<word>-<n>` (words such as `design` and `deploys`).
    pub channels: u32,
}

/// The first words of seeded channels' titles.
const CHANNEL_WORDS: &[&str] = &[
    "general", "design", "deploys", "random", "support", "sales", "ops", "backend", "frontend",
    "mobile", "data", "security", "hiring", "events", "music", "books",
];

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
        crate::db::prepare(settings.database.url.expose()).await?;
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
            workspace_id: None,
            visibility: PRIVATE,
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

    let workspace = match args.workspace_channels {
        0 => None,
        channels => Some(seed_workspace(&mut conn, batch, &ids, channels).await?),
    };

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
        workspace,
        token_expires_at: crate::messaging::view::timestamp(&expires),
    })
}

/// A workspace of all `users` (the first owns it) with `channels` public channels, each with
/// the owner as its one member.
async fn seed_workspace(
    conn: &mut diesel_async::AsyncPgConnection,
    batch: &str,
    users: &[Uuid],
    channels: u32,
) -> anyhow::Result<SeededWorkspace> {
    use crate::models::workspace::{self, NewWorkspace, NewWorkspaceMember};
    let owner = users[0];
    let slug = format!("load-{batch}");
    let titles: Vec<String> = (0..channels)
        .map(|i| format!("{}-{i:05}", CHANNEL_WORDS[i as usize % CHANNEL_WORDS.len()]))
        .collect();
    let channel_ids: Vec<Uuid> = titles.iter().map(|_| Uuid::now_v7()).collect();
    let space = conn
        .transaction::<_, diesel::result::Error, _>(async |conn| {
            let space = workspace::insert(
                conn,
                &NewWorkspace {
                    id: Uuid::now_v7(),
                    name: "Load workspace",
                    slug: &slug,
                    created_by: owner,
                },
            )
            .await?;
            let members: Vec<NewWorkspaceMember> = users
                .iter()
                .enumerate()
                .map(|(i, &user_id)| NewWorkspaceMember {
                    workspace_id: space.id,
                    user_id,
                    role: if i == 0 { OWNER } else { MEMBER },
                })
                .collect();
            workspace::insert_members(conn, &members).await?;
            let new: Vec<NewConversation> = channel_ids
                .iter()
                .zip(&titles)
                .map(|(&id, title)| NewConversation {
                    id,
                    kind: GROUP,
                    title: Some(title),
                    dm_key: None,
                    created_by: owner,
                    workspace_id: Some(space.id),
                    visibility: PUBLIC,
                })
                .collect();
            conversation::insert_many(conn, &new).await?;
            let owners: Vec<NewMember> = channel_ids
                .iter()
                .map(|&conversation_id| NewMember {
                    conversation_id,
                    user_id: owner,
                    role: OWNER,
                })
                .collect();
            member::insert_many(conn, &owners).await?;
            Ok(space)
        })
        .await?;
    Ok(SeededWorkspace {
        id: space.id,
        channels,
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
