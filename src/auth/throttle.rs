//! Login throttling that cannot lock an owner out (OWASP, "Authentication: account lockout").
//! Failures count three ways: per account and address pair and per address, both hard limits
//! (429), and per account from every address, which only slows the account's attempts down. An
//! attacker's address is stopped after a few guesses, and a crowd of addresses guessing one
//! account waits longer and longer per guess; the owner, from an address of their own, signs in
//! with the right password after that wait at most.

use std::net::IpAddr;
use std::time::Duration;

use uuid::Uuid;

use crate::config::AuthSettings;
use crate::db::DbPool;
use crate::models::login_failure::{self, Claim, Counter};

/// The keys one login attempt is counted under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginKeys {
    /// The account however named: `account:<id>`, or `login:<name>` when no account has that
    /// name (counted all the same, so the answer does not tell whether it exists).
    pub account: String,
    pub pair: String,
    pub address: String,
}

/// Failures past the free ones that the account's count goes up to: enough for the longest
/// wait, whatever the settings (the doubling reaches any cap within 32 steps).
const COUNTED_PAST_FREE: i64 = 32;

impl LoginKeys {
    /// The keys of an attempt on `account` (`None`: no account is named `login`) from `address`.
    pub fn new(account: Option<Uuid>, login: &str, address: &str) -> LoginKeys {
        let account = match account {
            Some(id) => format!("account:{id}"),
            None => format!("login:{login}"),
        };
        let address = address_key(address);
        LoginKeys {
            pair: format!("pair:{address}:{account}"),
            address: format!("ip:{address}"),
            account,
        }
    }

    /// The counters of a claim, in this order: the pair, the address (hard limits) and the
    /// account (counted only).
    pub fn counters<'a>(&'a self, auth: &AuthSettings) -> [Counter<'a>; 3] {
        [
            Counter::hard(&self.pair, i64::from(auth.login_max_failures_per_pair)),
            Counter::hard(
                &self.address,
                i64::from(auth.login_max_failures_per_address),
            ),
            Counter::soft(
                &self.account,
                i64::from(auth.login_account_free_failures) + COUNTED_PAST_FREE,
            ),
        ]
    }

    /// The account's failures from every address before this attempt, as `claim` counted
    /// them for [`LoginKeys::counters`].
    pub fn account_failures(claim: &Claim) -> i64 {
        claim.before.get(2).copied().unwrap_or(0)
    }

    /// The keys a successful login forgets: the account's failures, and this address's on it.
    /// The address keeps its failures on other accounts.
    pub fn cleared_on_success(&self) -> [&str; 2] {
        [&self.account, &self.pair]
    }
}

/// The key of a client address: an IP address as text, an IPv6 one by its /64 (one host
/// commonly holds a whole /64); anything else (an unparsable forwarded header) shares one key,
/// so a key is never longer than an address.
pub fn address_key(address: &str) -> String {
    match address.parse::<IpAddr>() {
        Ok(IpAddr::V4(v4)) => v4.to_string(),
        Ok(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let net = u128::from(v6) & !((1u128 << 64) - 1);
                format!("{}/64", std::net::Ipv6Addr::from(net))
            }
        },
        Err(_) => "unknown".into(),
    }
}

/// How long an attempt on an account waits before its password is checked, when the account
/// had `failures` failed attempts in the window: nothing up to the free ones, then the base
/// delay doubled for each failure past them, at most the cap.
pub fn account_delay(failures: i64, auth: &AuthSettings) -> Duration {
    let past = failures - i64::from(auth.login_account_free_failures);
    if past < 0 || auth.login_account_delay_ms == 0 {
        return Duration::ZERO;
    }
    let doubled = auth
        .login_account_delay_ms
        .checked_shl(past.min(63) as u32)
        .filter(|ms| ms >> past.min(63) == auth.login_account_delay_ms)
        .unwrap_or(u64::MAX);
    Duration::from_millis(doubled.min(auth.login_account_max_delay_ms))
}

/// Attempts one sweep removes at most; the next sweep goes on.
const FORGET_BATCH: i64 = 10_000;

/// Removes, every minute on the current runtime, the counted attempts older than the longest
/// window: a key that is never claimed again (an address that gave up) would keep its rows for
/// ever, so the table holds about one window's attempts however many addresses come and go.
/// Every node runs it; a row removed twice is no harm.
pub fn start_forgetting(pool: DbPool, auth: &AuthSettings) {
    let horizon = auth.login_window_secs.max(auth.register_window_secs);
    let horizon = chrono::Duration::seconds(horizon.min(i64::MAX as u64 / 1000) as i64);
    actix_web::rt::spawn(async move {
        let mut ticks = tokio::time::interval(Duration::from_secs(60));
        loop {
            ticks.tick().await;
            let Ok(mut conn) = pool.get().await else {
                continue;
            };
            let before = chrono::Utc::now() - horizon;
            if let Err(err) = login_failure::purge(&mut conn, before, FORGET_BATCH).await {
                log::warn!(cause:% = err; "old login attempts not removed; the next sweep tries again");
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth() -> AuthSettings {
        crate::config::Settings::load_from(
            "test",
            std::path::Path::new("/nonexistent"),
            &Default::default(),
        )
        .unwrap()
        .auth
    }

    #[test]
    fn the_account_is_slowed_past_its_free_failures_never_locked() {
        let mut auth = auth();
        auth.login_account_free_failures = 10;
        auth.login_account_delay_ms = 500;
        auth.login_account_max_delay_ms = 8000;
        let ms = |failures| account_delay(failures, &auth).as_millis();
        assert_eq!(ms(0), 0);
        assert_eq!(ms(9), 0);
        assert_eq!(ms(10), 500);
        assert_eq!(ms(11), 1000);
        assert_eq!(ms(13), 4000);
        assert_eq!(ms(14), 8000);
        assert_eq!(ms(15), 8000);
        assert_eq!(ms(10 + COUNTED_PAST_FREE), 8000);
        assert_eq!(ms(i64::MAX), 8000);
        auth.login_account_delay_ms = 0;
        assert_eq!(account_delay(100, &auth), Duration::ZERO);
    }

    #[test]
    fn addresses_are_keyed_by_host_and_ipv6_by_its_64() {
        assert_eq!(address_key("203.0.113.9"), "203.0.113.9");
        assert_eq!(address_key("::ffff:203.0.113.9"), "203.0.113.9");
        assert_eq!(
            address_key("2001:db8:1:2:aaaa:bbbb:cccc:dddd"),
            "2001:db8:1:2::/64"
        );
        assert_eq!(
            address_key("2001:db8:1:2::1"),
            address_key("2001:db8:1:2:ffff::9")
        );
        assert_ne!(
            address_key("2001:db8:1:2::1"),
            address_key("2001:db8:1:3::1")
        );
        assert_eq!(address_key(&"x".repeat(10_000)), "unknown");
    }

    #[test]
    fn one_account_is_one_key_however_named() {
        let id = Uuid::now_v7();
        let by_name = LoginKeys::new(Some(id), "alice", "10.0.0.1");
        let by_email = LoginKeys::new(Some(id), "alice@example.com", "10.0.0.1");
        assert_eq!(by_name, by_email);
        let other_address = LoginKeys::new(Some(id), "alice", "10.0.0.2");
        assert_eq!(by_name.account, other_address.account);
        assert_ne!(by_name.pair, other_address.pair);
        assert_ne!(by_name.address, other_address.address);
        assert_eq!(
            LoginKeys::new(None, "ghost", "10.0.0.1").account,
            "login:ghost"
        );
    }
}
