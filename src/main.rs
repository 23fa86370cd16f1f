use clap::Parser;
use confab::cli::{Cli, Command};
use confab::config::Settings;

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    confab::logging::init();
    if let Some(Command::Openapi) = cli.command {
        // Needs no configuration: the description is the code's.
        print!(
            "{}",
            confab::http::openapi::to_json(&confab::http::description())?
        );
        return Ok(());
    }
    let settings = Settings::load()?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => confab::startup::serve(settings),
        Command::Migrate => confab::startup::migrate(settings),
        Command::Seed(args) => confab::seed::run(settings, args),
        Command::Openapi => Ok(()),
    }
}
