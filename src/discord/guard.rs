//! Who may ask, where and how often: a per-user rate limit, guild and channel allow-lists,
//! and the question length limit.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serenity::all::{Member, RoleId};

use crate::config::DiscordConfig;

/// A sliding one-minute window of questions per user.
#[derive(Debug)]
pub struct RateLimiter {
    per_minute: usize,
    window: Duration,
    seen: Mutex<HashMap<u64, VecDeque<Instant>>>,
}

impl RateLimiter {
    pub fn per_minute(per_minute: u32) -> Self {
        RateLimiter {
            per_minute: per_minute.max(1) as usize,
            window: Duration::from_secs(60),
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// Counts a question from `user`; `Err(wait)` when the user must wait before asking again.
    pub fn check(&self, user: u64) -> Result<(), Duration> {
        self.check_at(user, Instant::now())
    }

    fn check_at(&self, user: u64, now: Instant) -> Result<(), Duration> {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        // Forget idle users now and then, so the map stays small.
        if seen.len() > 10_000 {
            seen.retain(|_, times| {
                times
                    .back()
                    .is_some_and(|t| now.duration_since(*t) < self.window)
            });
        }
        let times = seen.entry(user).or_default();
        while times
            .front()
            .is_some_and(|t| now.duration_since(*t) >= self.window)
        {
            times.pop_front();
        }
        if times.len() >= self.per_minute {
            let oldest = *times.front().expect("the window is full");
            return Err(self.window - now.duration_since(oldest));
        }
        times.push_back(now);
        Ok(())
    }
}

/// Where the bot answers.
#[derive(Debug, Clone)]
pub struct Place {
    pub guild: Option<u64>,
    pub channel: u64,
    /// The parent channel of a thread, so that allowing a channel allows its threads.
    pub parent: Option<u64>,
    /// A thread (in a guild), as far as the interaction or the cache tell.
    pub thread: bool,
}

/// True when the configured allow-lists let the bot answer in `place`.
pub fn allowed(config: &DiscordConfig, place: &Place) -> bool {
    match place.guild {
        None => config.direct_messages,
        Some(guild) => {
            let guild_ok =
                config.allowed_guilds.is_empty() || config.allowed_guilds.contains(&guild);
            let channel_ok = config.allowed_channels.is_empty()
                || config.allowed_channels.contains(&place.channel)
                || place
                    .parent
                    .is_some_and(|p| config.allowed_channels.contains(&p));
            guild_ok && channel_ok
        }
    }
}

/// Why a question is not answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    TooLong { max: usize },
    Empty,
    RateLimited { wait_secs: u64 },
}

impl Refused {
    /// What to tell the asker; the reply to an empty question is the folder's wording.
    pub fn message(&self, wording: &crate::knowledge::Wording) -> String {
        match self {
            Refused::TooLong { max } => format!("That question is a little long for me: please ask it in at most {max} characters."),
            Refused::Empty => wording.replies.empty_question.clone(),
            Refused::RateLimited { wait_secs } => format!("You have asked a lot of questions in the last minute. Please try again in {wait_secs} seconds."),
        }
    }
}

/// Checks a question's length and the asker's rate; counts it when it passes.
pub fn admit(
    config: &DiscordConfig,
    limiter: &RateLimiter,
    user: u64,
    question: &str,
) -> Result<(), Refused> {
    let length = question.trim().chars().count();
    if length == 0 {
        return Err(Refused::Empty);
    }
    if length > config.max_question_chars {
        return Err(Refused::TooLong {
            max: config.max_question_chars,
        });
    }
    limiter.check(user).map_err(|wait| Refused::RateLimited {
        wait_secs: wait.as_secs().max(1),
    })
}

/// The guilds where the admin commands exist: those in `guilds` (within `allowed_guilds` when
/// both are set), or else those in `allowed_guilds`. With neither there are none: admin
/// commands are never registered globally, where any server that adds the bot could use them.
pub fn admin_guilds(config: &DiscordConfig) -> Vec<u64> {
    if config.guilds.is_empty() {
        config.allowed_guilds.clone()
    } else {
        config
            .guilds
            .iter()
            .copied()
            .filter(|g| config.allowed_guilds.is_empty() || config.allowed_guilds.contains(g))
            .collect()
    }
}

/// Manage Server or Administrator in the member's permissions (Discord sends them with every
/// interaction), or the configured admin role.
pub fn is_admin_member(config: &DiscordConfig, member: &Member) -> bool {
    let manages = member
        .permissions
        .is_some_and(|p| p.manage_guild() || p.administrator());
    manages
        || config
            .admin_role
            .filter(|&r| r != 0)
            .is_some_and(|r| member.roles.contains(&RoleId::new(r)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    #[test]
    fn the_limit_counts_per_user_within_a_minute() {
        let limiter = RateLimiter::per_minute(2);
        let t0 = Instant::now();
        assert!(limiter.check_at(1, t0).is_ok());
        assert!(limiter.check_at(1, t0 + Duration::from_secs(1)).is_ok());
        let wait = limiter
            .check_at(1, t0 + Duration::from_secs(2))
            .unwrap_err();
        assert_eq!(wait, Duration::from_secs(58));
        assert!(
            limiter.check_at(2, t0 + Duration::from_secs(2)).is_ok(),
            "other users are not limited"
        );
        assert!(
            limiter.check_at(1, t0 + Duration::from_secs(61)).is_ok(),
            "the window slides"
        );
    }

    #[test]
    fn allow_lists_cover_threads_and_direct_messages() {
        let mut config = Config::defaults().discord;
        config.allowed_guilds = vec![10];
        config.allowed_channels = vec![20];
        assert!(allowed(
            &config,
            &Place {
                guild: Some(10),
                channel: 20,
                parent: None,
                thread: false
            }
        ));
        assert!(allowed(
            &config,
            &Place {
                guild: Some(10),
                channel: 99,
                parent: Some(20),
                thread: true
            }
        ));
        assert!(!allowed(
            &config,
            &Place {
                guild: Some(10),
                channel: 99,
                parent: None,
                thread: false
            }
        ));
        assert!(!allowed(
            &config,
            &Place {
                guild: Some(11),
                channel: 20,
                parent: None,
                thread: false
            }
        ));
        assert!(allowed(
            &config,
            &Place {
                guild: None,
                channel: 5,
                parent: None,
                thread: false
            }
        ));
        config.direct_messages = false;
        assert!(!allowed(
            &config,
            &Place {
                guild: None,
                channel: 5,
                parent: None,
                thread: false
            }
        ));
    }

    #[test]
    fn long_and_empty_questions_are_refused_politely() {
        let config = Config::defaults().discord;
        let limiter = RateLimiter::per_minute(5);
        assert_eq!(
            admit(&config, &limiter, 1, &"x".repeat(301)),
            Err(Refused::TooLong { max: 300 })
        );
        assert_eq!(admit(&config, &limiter, 1, "  "), Err(Refused::Empty));
        assert!(admit(&config, &limiter, 1, "How long is the NPQH?").is_ok());
    }
}
