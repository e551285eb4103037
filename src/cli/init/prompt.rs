//! The questions `warroom init` asks on a terminal: the region of each kube context, the
//! namespaces to search and the Route 53 record. Questions go to stderr, answers come from stdin.

use std::io::{self, BufRead, Write};

use super::RegionChoice;

/// Where questions are asked and answered.
pub trait Ask {
    /// Ask `question`; the trimmed answer (`None` at end of input).
    fn ask(&mut self, question: &str) -> io::Result<Option<String>>;
    /// Tell the person something.
    fn say(&mut self, line: &str) -> io::Result<()>;
}

/// stdin and stderr.
pub struct Terminal {
    input: io::StdinLock<'static>,
}

impl Terminal {
    /// The process's terminal.
    pub fn new() -> Terminal {
        Terminal { input: io::stdin().lock() }
    }
}

impl Default for Terminal {
    fn default() -> Self {
        Terminal::new()
    }
}

impl Ask for Terminal {
    fn ask(&mut self, question: &str) -> io::Result<Option<String>> {
        let mut err = io::stderr().lock();
        write!(err, "{question}")?;
        err.flush()?;
        let mut line = String::new();
        if self.input.read_line(&mut line)? == 0 {
            return Ok(None);
        }
        Ok(Some(line.trim().to_string()))
    }

    fn say(&mut self, line: &str) -> io::Result<()> {
        writeln!(io::stderr().lock(), "{line}")
    }
}

/// A region name as Route 53 and the config accept it: letters, digits, `-`, `_`, `.`.
fn valid_region(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// Ask the region of each context (empty answer: not used). The first one answered is the
/// primary region.
pub fn ask_regions(io: &mut impl Ask, contexts: &[String]) -> io::Result<Vec<RegionChoice>> {
    if contexts.is_empty() {
        return Err(io::Error::other("the kubeconfig has no contexts"));
    }
    io.say(&format!("The kubeconfig has {} context(s): {}", contexts.len(), contexts.join(", ")))?;
    io.say("For each, type the region it runs in (the first region you name is the primary), or Enter to skip it.")?;
    let mut out: Vec<RegionChoice> = Vec::new();
    for context in contexts {
        loop {
            let q = format!("Region of kube context `{context}` (Enter to skip): ");
            let Some(answer) = io.ask(&q)? else { return Ok(out) };
            if answer.is_empty() {
                break;
            }
            if !valid_region(&answer) {
                io.say(&format!("`{answer}` is not a region name (letters, digits, -, _ and . only)"))?;
                continue;
            }
            if out.iter().any(|r| r.region == answer) {
                io.say(&format!("region `{answer}` is already taken by another context"))?;
                continue;
            }
            out.push(RegionChoice { context: context.clone(), region: answer });
            break;
        }
    }
    Ok(out)
}

/// Ask the namespaces to search (comma or space separated; Enter: `default`).
pub fn ask_namespaces(io: &mut impl Ask) -> io::Result<Vec<String>> {
    let answer = io.ask("Namespaces to search for PostgreSQL and Redis (comma-separated) [default]: ")?;
    Ok(answer
        .unwrap_or_default()
        .split([',', ' '])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect())
}

/// Ask the Route 53 record (Enter: none).
pub fn ask_record(io: &mut impl Ask) -> io::Result<Option<String>> {
    let answer =
        io.ask("Route 53 record with weighted records per region, e.g. api.example.com (Enter to skip): ")?;
    Ok(answer.filter(|a| !a.is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Script {
        answers: Vec<&'static str>,
        said: Vec<String>,
    }

    impl Ask for Script {
        fn ask(&mut self, question: &str) -> io::Result<Option<String>> {
            self.said.push(question.to_string());
            Ok((!self.answers.is_empty()).then(|| self.answers.remove(0).to_string()))
        }
        fn say(&mut self, line: &str) -> io::Result<()> {
            self.said.push(line.to_string());
            Ok(())
        }
    }

    #[test]
    fn asks_each_context_skips_empty_answers_and_re_asks_bad_ones() {
        let mut s =
            Script { answers: vec!["us east", "us-east-1", "", "us-east-1", "us-west-2"], said: vec![] };
        let contexts: Vec<String> = ["a", "decoy", "b"].map(String::from).to_vec();
        let r = ask_regions(&mut s, &contexts).unwrap();
        assert_eq!(
            r,
            [
                RegionChoice { context: "a".into(), region: "us-east-1".into() },
                RegionChoice { context: "b".into(), region: "us-west-2".into() }
            ]
        );
        assert!(s.said.iter().any(|l| l.contains("`us east` is not a region name")), "{:?}", s.said);
        assert!(s.said.iter().any(|l| l.contains("already taken")), "{:?}", s.said);
    }

    #[test]
    fn namespaces_and_record() {
        let mut s = Script { answers: vec!["db, cache  web", ""], said: vec![] };
        assert_eq!(ask_namespaces(&mut s).unwrap(), ["db", "cache", "web"]);
        assert_eq!(ask_record(&mut s).unwrap(), None);
        let mut s = Script { answers: vec!["api.example.com"], said: vec![] };
        assert_eq!(ask_record(&mut s).unwrap().as_deref(), Some("api.example.com"));
    }
}
