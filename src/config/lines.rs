//! A forgiving line-by-line reading of a TOML file, for locating errors when the document
//! does not parse (syntax errors, duplicate keys) or a whole section is missing.
//!
//! It never decides whether the file is valid — `toml` does that. It only answers: which
//! table is this line in, which key does it set, where else was that key set, and where
//! would a missing section go. Multi-line strings and arrays are followed well enough for
//! that; anything it cannot tell is reported as the table the line is in.

/// One line's place in the document.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Line {
    /// The dotted table the line is in (`mqtt.tls`, `cloud[1].policy`); empty at the top.
    table: String,
    /// The key the line sets, as written (`port`, `heat.pin`), when it is a `key = …` line.
    key: Option<String>,
    /// Whether the line is a `[header]` or `[[header]]`.
    header: bool,
}

/// The document, line by line (index 0 is line 1).
pub struct Lines {
    lines: Vec<Line>,
    /// Lines of text (a final newline does not start another).
    count: usize,
}

impl Lines {
    pub fn new(text: &str) -> Lines {
        let mut lines = Vec::new();
        let mut table = String::new();
        let mut arrays: Vec<(String, usize)> = Vec::new();
        // Inside a multi-line basic/literal string or an open bracket, lines are values.
        let mut in_string: Option<&str> = None;
        let mut depth: i32 = 0;
        for raw in text.split('\n') {
            if let Some(delim) = in_string {
                if raw.contains(delim) {
                    in_string = None;
                }
                lines.push(continuation(&table));
                continue;
            }
            if depth > 0 {
                depth += bracket_balance(raw);
                lines.push(continuation(&table));
                continue;
            }
            let code = strip_comment(raw).trim();
            if let Some(rest) = code.strip_prefix("[[") {
                let name = clean_name(rest.trim_end_matches(']'));
                let index = match arrays.iter_mut().find(|(n, _)| *n == name) {
                    Some((_, count)) => {
                        *count += 1;
                        *count - 1
                    }
                    None => {
                        arrays.push((name.clone(), 1));
                        0
                    }
                };
                table = format!("{name}[{index}]");
                lines.push(Line {
                    table: table.clone(),
                    key: None,
                    header: true,
                });
            } else if let Some(rest) = code.strip_prefix('[') {
                let name = clean_name(rest.trim_end_matches(']'));
                // A sub-table of the latest array element: `[cloud.policy]` after `[[cloud]]`.
                table = match arrays
                    .iter()
                    .find(|(n, _)| name.starts_with(&format!("{n}.")))
                {
                    Some((n, count)) => format!("{n}[{}]{}", count - 1, &name[n.len()..]),
                    None => name,
                };
                lines.push(Line {
                    table: table.clone(),
                    key: None,
                    header: true,
                });
            } else if let Some((key, value)) = code.split_once('=') {
                let value = value.trim_start();
                for delim in ["\"\"\"", "'''"] {
                    if let Some(after) = value.strip_prefix(delim)
                        && !after.contains(delim)
                    {
                        in_string = Some(delim);
                    }
                }
                if in_string.is_none() {
                    depth = bracket_balance(value).max(0);
                }
                // `= 1` with no key (a syntax error) sets nothing: name it by its table.
                let key = clean_name(key);
                lines.push(Line {
                    table: table.clone(),
                    key: (!key.is_empty()).then_some(key),
                    header: false,
                });
            } else {
                lines.push(continuation(&table));
            }
        }
        Lines {
            lines,
            count: text.lines().count(),
        }
    }

    fn get(&self, line: usize) -> Option<&Line> {
        line.checked_sub(1).and_then(|i| self.lines.get(i))
    }

    /// The dotted key line `line` is about: the key it sets, else the table it opens or is
    /// in, else `(top level)`.
    pub fn key_near(&self, line: usize) -> String {
        let Some(l) = self.get(line) else {
            return "(top level)".into();
        };
        match (&l.key, l.table.is_empty()) {
            (Some(k), true) => k.clone(),
            (Some(k), false) => format!("{}.{k}", l.table),
            (None, false) => l.table.clone(),
            (None, true) => "(top level)".into(),
        }
    }

    /// The first line before `line` that sets the same key in the same table, or opens the
    /// same table header: the other half of a duplicate.
    pub fn earlier_definition(&self, line: usize) -> Option<usize> {
        let l = self.get(line)?;
        self.lines[..line - 1]
            .iter()
            .position(|other| {
                other.table == l.table && other.key == l.key && other.header == l.header
            })
            .map(|i| i + 1)
    }

    /// The line before which a missing top-level section `name` belongs: the header of the
    /// first section written that comes after it in `order`, else the line after the end.
    pub fn insertion_line(&self, name: &str, order: &[&str]) -> usize {
        let after: Vec<&str> = order
            .iter()
            .skip_while(|s| **s != name)
            .skip(1)
            .copied()
            .collect();
        self.lines
            .iter()
            .position(|l| {
                l.header && {
                    let top = l.table.split(['.', '[']).next().unwrap_or("");
                    after.contains(&top)
                }
            })
            .map(|i| i + 1)
            .unwrap_or(self.count + 1)
    }
}

fn continuation(table: &str) -> Line {
    Line {
        table: table.to_owned(),
        key: None,
        header: false,
    }
}

/// A key or header name without quotes or spaces around the dots: `a . "b.c"` -> `a."b.c"`.
fn clean_name(s: &str) -> String {
    let s = s.trim().trim_end_matches(']').trim();
    let mut out = String::new();
    let mut quote: Option<char> = None;
    for c in s.chars() {
        match quote {
            Some(q) => {
                out.push(c);
                if c == q {
                    quote = None;
                }
            }
            None if c == '"' || c == '\'' => {
                quote = Some(c);
                out.push('"');
            }
            None if c.is_whitespace() => {}
            // An empty part (`a..b`, `poll.`, a syntax error) is left out of the name.
            None if c == '.' && (out.is_empty() || out.ends_with('.')) => {}
            None => out.push(c),
        }
    }
    if out.ends_with('.') {
        out.pop();
    }
    out.replace('\'', "\"")
}

/// The line without a trailing `# comment` (a `#` inside quotes is kept).
fn strip_comment(line: &str) -> &str {
    let mut quote: Option<char> = None;
    for (i, c) in line.char_indices() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '"' || c == '\'' => quote = Some(c),
            None if c == '#' => return &line[..i],
            None => {}
        }
    }
    line
}

/// Open minus closed brackets and braces outside strings and comments.
fn bracket_balance(text: &str) -> i32 {
    let mut balance = 0;
    let mut quote: Option<char> = None;
    for c in strip_comment(text).chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None => match c {
                '"' | '\'' => quote = Some(c),
                '[' | '{' => balance += 1,
                ']' | '}' => balance -= 1,
                _ => {}
            },
        }
    }
    balance
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "top = 1\n[mqtt]\nport = 1 # a comment\nhosts = [\n  \"a\",\n]\nport = 2\n\
                       [[cloud]]\nname = \"a\"\n[[cloud]]\nname = \"b\"\n[cloud.policy]\nx = \"\"\"\nport = 9\n\"\"\"\n[mqtt]\n";

    #[test]
    fn names_the_key_or_table_of_each_line() {
        let l = Lines::new(DOC);
        assert_eq!(l.key_near(1), "top");
        assert_eq!(l.key_near(2), "mqtt");
        assert_eq!(l.key_near(3), "mqtt.port");
        assert_eq!(l.key_near(5), "mqtt", "inside an array");
        assert_eq!(l.key_near(11), "cloud[1].name");
        assert_eq!(l.key_near(13), "cloud[1].policy.x");
        assert_eq!(
            l.key_near(14),
            "cloud[1].policy",
            "inside a multi-line string"
        );
        assert_eq!(l.key_near(99), "(top level)");
    }

    #[test]
    fn finds_the_first_of_a_duplicate() {
        let l = Lines::new(DOC);
        assert_eq!(l.earlier_definition(7), Some(3));
        assert_eq!(l.earlier_definition(16), Some(2), "a table opened twice");
        assert_eq!(l.earlier_definition(11), None, "another array element");
    }

    #[test]
    fn a_missing_section_goes_before_the_next_one_in_order() {
        let l = Lines::new("[daemon]\nx = 1\n[thermostat]\ny = 2\n");
        let order = ["daemon", "hardware", "simulator", "thermostat"];
        assert_eq!(l.insertion_line("hardware", &order), 3);
        assert_eq!(l.insertion_line("thermostat", &order), 5);
    }
}
