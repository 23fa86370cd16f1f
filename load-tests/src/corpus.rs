//! A fixed-seed corpus for the search benchmark: messages whose words follow a Zipf law over a
//! vocabulary of common English words and generated ones, so that some words are in half the
//! messages and most in almost none. A few marked words and phrases are mixed in at known
//! rates for the benchmark's queries. The same seed always writes the same corpus.

use std::io::Write;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The most common words, in order; the generated ones follow.
const COMMON: &[&str] = &[
    "the", "to", "and", "a", "of", "i", "you", "it", "in", "is", "that", "for", "we", "on", "this",
    "be", "with", "have", "are", "not", "can", "just", "so", "do", "at", "but", "if", "will",
    "what", "me", "my", "all", "was", "they", "get", "now", "there", "one", "think", "know",
    "about", "out", "up", "from", "like", "your", "time", "good", "need", "when", "today", "ok",
    "yes", "no", "thanks", "see", "meeting", "team", "work", "new", "please", "tomorrow", "update",
    "issue", "review", "build", "test", "server", "client", "call",
];

const SYLLABLES: &[&str] = &[
    "ka", "lo", "mi", "ra", "te", "su", "no", "vi", "de", "pa", "zu", "ri", "go", "fe", "ma",
    "shi", "tor", "ven", "qua", "bel", "dra", "xen", "pol", "mur", "sta", "gri", "han", "lek",
];

/// The vocabulary: the common words, then generated words of two to four syllables.
pub fn vocabulary(size: usize, rng_seed: u64) -> Vec<String> {
    let mut rng = generator(rng_seed, 0);
    let mut words: Vec<String> = COMMON.iter().map(|w| w.to_string()).collect();
    let mut seen: std::collections::HashSet<String> = words.iter().cloned().collect();
    while words.len() < size {
        let n = rng.random_range(2..=4);
        let word: String = (0..n)
            .map(|_| SYLLABLES[rng.random_range(0..SYLLABLES.len())])
            .collect();
        if seen.insert(word.clone()) {
            words.push(word);
        }
    }
    words
}

/// Stream `stream` of the generator seeded with `seed`: ChaCha8, whose output for a seed is
/// fixed (rand's `StdRng` may change between releases), so a seed always means one corpus.
fn generator(seed: u64, stream: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream);
    rng
}

/// Cumulative Zipf weights (exponent `s`) over `n` ranks.
fn zipf(n: usize, s: f64) -> Vec<f64> {
    let mut total = 0.0;
    let mut cumulative = Vec::with_capacity(n);
    for rank in 1..=n {
        total += 1.0 / (rank as f64).powf(s);
        cumulative.push(total);
    }
    cumulative.iter().map(|c| c / total).collect()
}

/// Writes `messages` lines of `conversation<TAB>seq<TAB>body` (conversations numbered from 1,
/// seqs from 1 in each, messages spread round-robin), for PostgreSQL's COPY.
pub fn write(
    out: &mut impl Write,
    messages: usize,
    conversations: usize,
    seed: u64,
) -> std::io::Result<Vocabulary> {
    let words = vocabulary(50_000, seed);
    let weights = zipf(words.len(), 1.07);
    let mut rng = generator(seed, 1);
    let mut seqs = vec![0u64; conversations];
    for n in 0..messages {
        let conversation = n % conversations;
        seqs[conversation] += 1;
        let length = rng.random_range(3..28);
        let mut body = Vec::with_capacity(length + 2);
        for _ in 0..length {
            let u: f64 = rng.random();
            let rank = weights.partition_point(|w| *w < u).min(words.len() - 1);
            body.push(words[rank].as_str());
        }
        // Known rates for the benchmark: a phrase in 1 in 200 messages, forms of "deploy" in
        // 1 in 500.
        if rng.random_ratio(1, 200) {
            body.push("release");
            body.push("notes");
        }
        if rng.random_ratio(1, 500) {
            body.push(["deploy", "deployment", "deployed", "deploying"][rng.random_range(0..4)]);
        }
        writeln!(
            out,
            "{}\t{}\t{}",
            conversation + 1,
            seqs[conversation],
            body.join(" ")
        )?;
    }
    Ok(Vocabulary {
        common: words[0].clone(),
        rare: words[40_000].clone(),
    })
}

/// Words of the corpus the benchmark asks for.
#[derive(Debug)]
pub struct Vocabulary {
    pub common: String,
    pub rare: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_writes_the_same_corpus() {
        let (mut a, mut b) = (Vec::new(), Vec::new());
        write(&mut a, 500, 10, 7).unwrap();
        write(&mut b, 500, 10, 7).unwrap();
        assert_eq!(a, b);
        let text = String::from_utf8(a).unwrap();
        assert_eq!(text.lines().count(), 500);
        let the = text
            .lines()
            .filter(|l| l.split(['\t', ' ']).any(|w| w == "the"))
            .count();
        assert!(the > 150, "the commonest word is in many messages: {the}");
        assert!(text.lines().next().unwrap().starts_with("1\t1\t"));
    }
}
