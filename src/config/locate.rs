//! Finding config keys in the TOML text, so errors can name `file:line`.
//!
//! Serde tells us *what* is wrong and validation tells us *which key*; this module maps a
//! dotted key (`hardware.outputs.heat.pin`, `cloud[1].policy.fields`) to the line that
//! holds it, and a byte offset back to the key it belongs to. It never judges values.

use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// A parsed document kept only for its spans.
pub struct SourceMap<'i> {
    text: &'i str,
    root: Option<Spanned<DeTable<'i>>>,
}

impl<'i> SourceMap<'i> {
    pub fn new(text: &'i str) -> Self {
        Self {
            text,
            root: DeTable::parse(text).ok(),
        }
    }

    /// 1-based line of a byte offset.
    pub fn line_of(&self, offset: usize) -> usize {
        let end = offset.min(self.text.len());
        self.text[..end].bytes().filter(|b| *b == b'\n').count() + 1
    }

    /// The line of `key`, or of its nearest ancestor that is written in the file
    /// (a missing key is reported at the section that should hold it).
    pub fn line_of_key(&self, key: &str) -> Option<usize> {
        let root = self.root.as_ref()?;
        let mut best: Option<usize> = None;
        let mut table: &DeTable<'i> = root.get_ref();
        let mut parts = key_parts(key).into_iter().peekable();
        while let Some((name, index)) = parts.next() {
            let Some((k, v)) = table.iter().find(|(k, _)| k.get_ref().as_ref() == name) else {
                break;
            };
            best = Some(k.span().start);
            let mut value: &Spanned<DeValue<'i>> = v;
            if let Some(i) = index {
                match value.get_ref() {
                    DeValue::Array(items) if i < items.len() => {
                        value = &items[i];
                        best = Some(value.span().start);
                    }
                    _ => break,
                }
            }
            match value.get_ref() {
                DeValue::Table(t) if parts.peek().is_some() => table = t,
                _ => break,
            }
        }
        best.map(|o| self.line_of(o))
    }

    /// The dotted key whose value contains `offset` (innermost), e.g. for a serde error span.
    /// None when there is no name to give (a bare `=` line parses, with recovery, as an empty
    /// key): the error is then named by the line's neighbours.
    pub fn key_at(&self, offset: usize) -> Option<String> {
        let root = self.root.as_ref()?;
        let mut path = String::new();
        (key_at_in(root.get_ref(), offset, &mut path) && !path.is_empty()).then_some(path)
    }
}

// Table spans from `DeTable` cover only a `[header]`, not the keys below it, so search
// every branch and keep the deepest key whose own span or value span holds the offset.
fn key_at_in(table: &DeTable<'_>, offset: usize, path: &mut String) -> bool {
    for (k, v) in table.iter() {
        let start = path.len();
        // An empty key is what recovery makes of `= 1` or `poll.`: leave it out of the name.
        if !k.get_ref().is_empty() {
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(k.get_ref());
        }
        if descend(v, offset, path) || k.span().contains(&offset) || holds(v, offset) {
            return true;
        }
        path.truncate(start);
    }
    false
}

fn holds(v: &Spanned<DeValue<'_>>, offset: usize) -> bool {
    !matches!(v.get_ref(), DeValue::Table(_)) && v.span().contains(&offset)
}

fn descend(v: &Spanned<DeValue<'_>>, offset: usize, path: &mut String) -> bool {
    match v.get_ref() {
        DeValue::Table(t) => key_at_in(t, offset, path),
        DeValue::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let start = path.len();
                path.push_str(&format!("[{i}]"));
                if descend(item, offset, path) || holds(item, offset) {
                    return true;
                }
                path.truncate(start);
            }
            false
        }
        _ => false,
    }
}

/// `cloud[1].policy.fields."lock.door"` ->
/// [("cloud", Some(1)), ("policy", None), ("fields", None), ("lock.door", None)]
fn key_parts(key: &str) -> Vec<(&str, Option<usize>)> {
    let mut parts = Vec::new();
    let mut rest = key;
    while !rest.is_empty() {
        let (part, tail) = if let Some(quoted) = rest.strip_prefix('"') {
            // A quoted key may hold dots: it ends at the closing quote.
            let end = quoted.find('"').unwrap_or(quoted.len());
            let tail = quoted.get(end + 1..).unwrap_or("");
            (&quoted[..end], tail)
        } else {
            let end = rest.find('.').unwrap_or(rest.len());
            (&rest[..end], &rest[end..])
        };
        parts.push(match part.split_once('[') {
            Some((name, idx)) => (name, idx.trim_end_matches(']').parse().ok()),
            None => (part, None),
        });
        rest = tail.strip_prefix('.').unwrap_or(tail);
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "[a]\nx = 1\n\n[b.c]\ny = \"z\"\n\n[[cloud]]\nname = \"one\"\n\n[[cloud]]\nname = \"two\"\n[cloud.policy]\nq = 2\n";

    #[test]
    fn finds_lines_of_keys() {
        let m = SourceMap::new(DOC);
        assert_eq!(m.line_of_key("a.x"), Some(2));
        assert_eq!(m.line_of_key("b.c.y"), Some(5));
        assert_eq!(m.line_of_key("cloud[1].name"), Some(11));
        assert_eq!(m.line_of_key("cloud[1].policy.q"), Some(13));
        // A key that is not written falls back to its section.
        assert_eq!(m.line_of_key("a.missing"), Some(1));
        assert_eq!(m.line_of_key("nothing.here"), None);
        let quoted = "[p.fields.\"lock.door\"]\nshare = \"never\"\n\n[p.fields.\"lock.state\"]\nshare = \"x\"\n";
        let m = SourceMap::new(quoted);
        assert_eq!(m.line_of_key("p.fields.\"lock.state\".share"), Some(5));
        assert_eq!(m.line_of_key("p.fields.\"lock.door\""), Some(1));
    }

    #[test]
    fn maps_offsets_back_to_keys() {
        let m = SourceMap::new(DOC);
        let off = DOC.find("\"z\"").unwrap();
        assert_eq!(m.key_at(off).as_deref(), Some("b.c.y"));
        let off = DOC.find("q = 2").unwrap() + 4;
        assert_eq!(m.key_at(off).as_deref(), Some("cloud[1].policy.q"));
    }
}
