//! "Did you mean …?": the closest valid name to a mistyped one, for the
//! error messages of every registry, point, option and provider lookup.

/// The candidate closest to `name` (Jaro-Winkler similarity, ignoring
/// case), when it is close enough to be a likely typo.
pub fn closest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let name = name.to_lowercase();
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(&name, &c.to_lowercase()), c))
        .filter(|(score, _)| *score > 0.75)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// `` (did you mean `x`?)`` for the closest candidate, or an empty string.
pub fn did_you_mean<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    closest(name, candidates)
        .map(|c| format!(" (did you mean `{c}`?)"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_find_their_name_and_strangers_find_none() {
        let valid = ["ttl_ms", "max_entries", "key_prefix"];
        assert_eq!(closest("ttl", valid), Some("ttl_ms"));
        assert_eq!(closest("Max_Entry", valid), Some("max_entries"));
        assert_eq!(closest("colour", valid), None);
        assert_eq!(
            did_you_mean("key_prefx", valid),
            " (did you mean `key_prefix`?)"
        );
        assert_eq!(did_you_mean("zzz", valid), "");
    }
}
