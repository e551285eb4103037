//! Sentences about a number of things that read right for every count.

/// `names` joined and followed by the verb in the right number: one name takes the singular
/// (`"a accepts writes"`), two take "both" (`"a, b both accept writes"`), more take "all"
/// (`"a, b, c all accept writes"`); none says `"none <singular>"`. Names are joined with `sep`.
pub fn each_verb(names: &[impl AsRef<str>], sep: &str, singular: &str, plural: &str) -> String {
    let joined = names.iter().map(AsRef::as_ref).collect::<Vec<_>>().join(sep);
    match names.len() {
        0 => format!("none {singular}"),
        1 => format!("{joined} {singular}"),
        2 => format!("{joined} both {plural}"),
        _ => format!("{joined} all {plural}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_count_reads_right() {
        let v = |n: &[&str]| each_verb(n, ", ", "accepts writes", "accept writes");
        assert_eq!(v(&[]), "none accepts writes");
        assert_eq!(v(&["postgresql-0"]), "postgresql-0 accepts writes");
        assert_eq!(v(&["postgresql-0", "postgresql-1"]), "postgresql-0, postgresql-1 both accept writes");
        assert_eq!(v(&["a", "b", "c"]), "a, b, c all accept writes");
        let and = each_verb(&["a".to_string(), "b".to_string()], " and ", "answers", "answer");
        assert_eq!(and, "a and b both answer");
    }
}
