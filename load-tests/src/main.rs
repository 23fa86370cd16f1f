//! `confab-load`: see `confab-load --help`.

use clap::Parser;

use confab_load::cli::Args;
use confab_load::report::Targets;
use confab_load::run::{run, RunOptions};
use confab_load::seed::Seed;

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("confab-load: cannot start the runtime: {err}");
            return std::process::ExitCode::from(2);
        }
    };
    match runtime.block_on(main_async(args)) {
        Ok(true) => std::process::ExitCode::SUCCESS,
        Ok(false) => std::process::ExitCode::from(1),
        Err(err) => {
            eprintln!("confab-load: {err:#}");
            std::process::ExitCode::from(2)
        }
    }
}

/// Runs and reports; `false` when a target was missed.
async fn main_async(args: Args) -> anyhow::Result<bool> {
    let scenario = args.scenario()?;
    let seed = match &args.seed {
        Some(path) => Seed::read(path)?,
        None => {
            let url = args.database_url.as_deref();
            Seed::generate(&args.confab, url, scenario.users, scenario.group_size).await?
        }
    };
    if args.uploads {
        let base = args
            .urls
            .first()
            .map_or("http://127.0.0.1:8080", String::as_str);
        let image = match args.upload_megapixels {
            Some(megapixels) => confab_load::uploads::smooth_jpeg(megapixels)?,
            None => confab_load::uploads::noise_jpeg(args.upload_bytes)?,
        };
        let plan = confab_load::uploads::Plan {
            concurrency: args.upload_concurrency.max(1),
            rate: args.upload_rate,
            send: !args.upload_only,
        };
        let report =
            confab_load::uploads::run(base, &seed, image, &plan, &args.server_pids).await?;
        print!("{}", report.table());
        std::fs::create_dir_all(&args.out)?;
        std::fs::write(
            args.out.join("uploads.json"),
            serde_json::to_string_pretty(&report)?,
        )?;
        return Ok(report.failed == 0);
    }
    let options = RunOptions {
        source_addrs: args.source_addrs,
        polling_share: args.polling_share,
        server_pids: args.server_pids.clone(),
        plain: args.plain,
    };
    let report = run(&scenario, &seed, &options).await?;
    print!("{}", report.table());
    report.write(&args.out)?;
    println!(
        "\nreport: {}/report.json, latency.svg, timeline.svg",
        args.out.display()
    );
    let missed = report.missed(Targets {
        max_p99_ms: args.max_p99,
        min_delivery: args.min_delivery,
    });
    for target in &missed {
        eprintln!("MISSED: {target}");
    }
    Ok(missed.is_empty())
}
