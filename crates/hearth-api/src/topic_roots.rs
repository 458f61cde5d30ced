//! Topic roots in the `[mqtt]` config: the base topic, the discovery prefix and the roots a
//! `reply_to` may name — each well formed, and none holding another's topics.

use crate::config::MqttConfig;

/// Longest base topic or discovery prefix.
const MAX_TOPIC_ROOT_BYTES: usize = 128;

impl MqttConfig {
    /// The topic roots `reply_to` may name: the configured ones, or `<base>/response` and
    /// the client area `<base>/client`.
    pub fn reply_to_roots(&self) -> Vec<String> {
        match &self.reply_to_prefixes {
            Some(roots) => roots.clone(),
            None => vec![
                format!("{}/response", self.base_topic),
                format!("{}/client", self.base_topic),
            ],
        }
    }

    pub(crate) fn check_reply_root(&self, root: &str) -> Result<(), String> {
        check_topic_root(root).map_err(|m| format!("entry {m}"))?;
        let base = &self.base_topic;
        let hearth_safe = [format!("{base}/response"), format!("{base}/client")];
        if is_under(base, root) {
            return Err(format!(
                "`{root}` holds hearth's own topics (under `{base}`); replies there could \
                 overwrite hearth's state or be read as commands"
            ));
        }
        if is_under(root, base) && !hearth_safe.iter().any(|s| is_under(root, s)) {
            return Err(format!(
                "`{root}` is under mqtt.base_topic; only `{base}/response/…` and \
                 `{base}/client/…` may be used there"
            ));
        }
        if overlaps(root, &self.discovery.prefix) {
            return Err(format!(
                "`{root}` overlaps the Home Assistant discovery prefix `{}`",
                self.discovery.prefix
            ));
        }
        Ok(())
    }
}

/// Whether `topic` is `root` itself or a topic below it.
pub(crate) fn is_under(topic: &str, root: &str) -> bool {
    topic == root
        || topic
            .strip_prefix(root)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// Whether either topic root holds the other.
pub(crate) fn overlaps(a: &str, b: &str) -> bool {
    is_under(a, b) || is_under(b, a)
}

/// A topic that other topics are built under: no wildcards, no empty levels.
pub(crate) fn check_topic_root(topic: &str) -> Result<(), String> {
    if topic.is_empty() {
        return Err("is empty; use e.g. \"hearth\"".into());
    }
    if topic.len() > MAX_TOPIC_ROOT_BYTES {
        return Err(format!("is longer than {MAX_TOPIC_ROOT_BYTES} bytes"));
    }
    if topic.contains(['+', '#']) {
        return Err(format!("`{topic}` contains an MQTT wildcard (+ or #)"));
    }
    if topic.starts_with('/') || topic.ends_with('/') {
        return Err(format!(
            "`{topic}` starts or ends with `/`; write e.g. \"home/hearth\""
        ));
    }
    if topic.contains("//") {
        return Err(format!("`{topic}` has an empty level (`//`)"));
    }
    if topic.starts_with('$') {
        return Err(format!(
            "`{topic}` starts with `$`, which brokers reserve for system topics"
        ));
    }
    if topic.chars().any(|c| c.is_control()) {
        return Err("contains control characters".into());
    }
    Ok(())
}
