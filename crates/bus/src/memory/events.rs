//! The in-process events exchange: subscribers with AMQP topic binding keys.

use crate::EventReceiver;
use tokio::sync::mpsc;

/// One subscription: a binding key and where matching events go.
pub(super) struct Subscriber {
    binding_key: String,
    sender: mpsc::UnboundedSender<(String, Vec<u8>)>,
}

impl Subscriber {
    pub(super) fn new(binding_key: &str) -> (Self, EventReceiver) {
        let (sender, receiver) = mpsc::unbounded_channel();
        let subscriber = Self {
            binding_key: binding_key.to_owned(),
            sender,
        };
        (subscriber, receiver)
    }

    /// Hands the event over if it matches; `false` once the receiver is gone, so that the
    /// exchange forgets the subscriber (as the broker deletes an auto-delete queue).
    pub(super) fn offer(&self, routing_key: &str, body: &[u8]) -> bool {
        if !topic_matches(&self.binding_key, routing_key) {
            return !self.sender.is_closed();
        }
        self.sender
            .send((routing_key.to_owned(), body.to_vec()))
            .is_ok()
    }
}

/// Whether a topic exchange routes `routing_key` to a queue bound with `binding_key`: both
/// are `.`-separated words; in the binding key `*` matches exactly one word and `#` zero or
/// more.
pub(super) fn topic_matches(binding_key: &str, routing_key: &str) -> bool {
    let pattern: Vec<&str> = binding_key.split('.').collect();
    let words: Vec<&str> = routing_key.split('.').collect();
    words_match(&pattern, &words)
}

fn words_match(pattern: &[&str], words: &[&str]) -> bool {
    match pattern.split_first() {
        None => words.is_empty(),
        // `#` takes any number of words; try each split (binding keys have a handful of
        // words, so the backtracking stays small).
        Some((&"#", rest)) => (0..=words.len()).any(|taken| words_match(rest, &words[taken..])),
        Some((&expected, rest)) => words.split_first().is_some_and(|(&word, words)| {
            (expected == "*" || expected == word) && words_match(rest, words)
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::topic_matches;

    #[test]
    fn topic_binding_keys_match_like_a_rabbitmq_topic_exchange() {
        let cases = [
            ("membership.changed.*", "membership.changed.t1", true),
            ("membership.changed.*", "membership.changed.t1.extra", false),
            ("membership.changed.*", "membership.changed", false),
            ("membership.changed.t2", "membership.changed.t1", false),
            ("membership.changed.t1", "membership.changed.t1", true),
            ("#", "membership.changed.t1", true),
            ("#", "", true),
            ("membership.#", "membership", true),
            ("membership.#", "membership.changed.t1", true),
            ("#.t1", "membership.changed.t1", true),
            ("#.t1", "membership.changed.t2", false),
            ("*.changed.#", "membership.changed", true),
            ("*.*", "membership.changed.t1", false),
            ("membership.changed", "membership.changed.t1", false),
        ];
        for (binding_key, routing_key, expected) in cases {
            assert_eq!(
                topic_matches(binding_key, routing_key),
                expected,
                "{binding_key} ~ {routing_key}"
            );
        }
    }
}
