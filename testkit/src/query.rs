//! Reading URL query strings (`a=1&scope=x%3Ay`) in the fake servers.

use percent_encoding::percent_decode_str;

/// Every `key=value` pair, decoded (`+` is a space, `%XX` a byte); a pair
/// without `=` has an empty value.
pub(crate) fn pairs(query: &str) -> impl Iterator<Item = (String, String)> + '_ {
    query.split('&').filter(|p| !p.is_empty()).map(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        (decode(key), decode(value))
    })
}

/// The decoded value of the first `name` parameter.
pub(crate) fn param(query: &str, name: &str) -> Option<String> {
    pairs(query).find_map(|(key, value)| (key == name).then_some(value))
}

fn decode(text: &str) -> String {
    percent_decode_str(&text.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_pairs() {
        assert_eq!(
            param("a=1&q=probe%2Dx+y%2B", "q").as_deref(),
            Some("probe-x y+")
        );
        assert_eq!(param("a=1", "q"), None);
        assert_eq!(param("q=100%", "q").as_deref(), Some("100%"));
        let scopes: Vec<_> = pairs("scope=repository%3Aa%2Fb%3Apull%2Cpush&flag&scope=x")
            .filter(|(k, _)| k == "scope")
            .map(|(_, v)| v)
            .collect();
        assert_eq!(scopes, ["repository:a/b:pull,push", "x"]);
    }
}
