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
    if let Some(messages) = args.corpus_messages {
        let stdout = std::io::stdout();
        let mut out = std::io::BufWriter::new(stdout.lock());
        let words =
            confab_load::corpus::write(&mut out, messages, args.corpus_conversations, 2026)?;
        eprintln!("common word {:?}, rare word {:?}", words.common, words.rare);
        return Ok(true);
    }
    if !args.searches.is_empty() {
        let base = args
            .urls
            .first()
            .map_or("http://127.0.0.1:8080", String::as_str);
        let token = args.search_token.as_deref().unwrap_or_default();
        let queries: Vec<(String, String)> = args
            .searches
            .iter()
            .map(|s| match s.split_once('=') {
                Some((name, text)) => (name.to_string(), text.to_string()),
                None => (s.clone(), s.clone()),
            })
            .collect();
        let reports = confab_load::search::run(
            base,
            token,
            &args.search_path,
            &queries,
            args.search_count,
            args.search_rate,
        )
        .await?;
        for r in &reports {
            println!(
                "search {:<8} {:<24} {:>5} asked, {:>2} results: p50 {:>7.2} ms, p99 {:>7.2} ms, max {:>7.2} ms",
                r.name, format!("{:?}", r.q), r.count, r.results, r.p50_ms, r.p99_ms, r.max_ms
            );
        }
        std::fs::create_dir_all(&args.out)?;
        std::fs::write(
            args.out.join("search.json"),
            serde_json::to_string_pretty(&reports)?,
        )?;
        return Ok(true);
    }
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
