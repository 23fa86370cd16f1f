//! `confab-load`: the load generator. Not built yet: the engine it drives comes first.

fn main() {
    eprintln!("confab-load is not built yet: it arrives with the Socket.IO engine.");
    std::process::exit(2);
}
