use clap::Parser;
use confab::cli::{Cli, Command};
use confab::config::Settings;

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    confab::logging::init();
    let settings = Settings::load()?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => confab::startup::serve(settings),
        Command::Migrate => confab::startup::migrate(settings),
        Command::Seed(args) => confab::seed::run(settings, args),
    }
}
