//! Command-line interface: `confab [serve|migrate|seed|openapi]`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "confab", version, about = "Confab real-time chat engine")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create and migrate the database if needed, then serve HTTP and Socket.IO (the default).
    Serve,
    /// Create the database if it is missing and run pending migrations, then exit.
    Migrate,
    /// Create users, groups and long-lived access tokens for load tests.
    Seed(SeedArgs),
    /// Print the OpenAPI description of the HTTP API (as `GET /api/openapi.json` serves it).
    Openapi,
}

#[derive(Debug, Clone, Args)]
pub struct SeedArgs {
    /// How many users to create.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub users: u32,
    /// Members per group (the last group takes the remainder); at most 300.
    #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u32).range(1..=300))]
    pub group_size: u32,
    /// Where to write the JSON result; `-` for standard output.
    #[arg(long, default_value = "-")]
    pub out: PathBuf,
    /// Also a workspace of every seeded user with this many public channels (for the
    /// discovery benchmark); 0: none.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=100_000))]
    pub workspace_channels: u32,
    /// Lifetime of the issued access tokens, in hours.
    #[arg(long, default_value_t = 24, value_parser = clap::value_parser!(u32).range(1..=720))]
    pub token_ttl_hours: u32,
}
