//! What `/find` matches: words folded the way German speakers type them
//! without umlauts, so `Muller`, `Mueller` and `Müller` are one word, and
//! `Weiss` and `Weiß` too. Pure text functions; the index lives in the
//! command layer.

/// `text` lower-cased with accents and umlauts folded: ä/ae -> a, ö/oe ->
/// o, ü/ue -> u, ß -> ss, é -> e ... The same folding on both sides of a
/// search makes the spellings meet.
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let push = |c: char, out: &mut String| {
        // The spellings without umlauts: Mueller -> muller, Goethe -> gothe.
        if c == 'e' && out.ends_with(['a', 'o', 'u']) {
            return;
        }
        out.push(c);
    };
    for c in text.chars() {
        if c.is_ascii() {
            push(c.to_ascii_lowercase(), &mut out);
            continue;
        }
        for c in c.to_lowercase() {
            match c {
                'ä' | 'à' | 'á' | 'â' | 'ã' | 'å' | 'æ' => push('a', &mut out),
                'ö' | 'ò' | 'ó' | 'ô' | 'õ' | 'ø' | 'œ' => push('o', &mut out),
                'ü' | 'ù' | 'ú' | 'û' => push('u', &mut out),
                'è' | 'é' | 'ê' | 'ë' => push('e', &mut out),
                'ì' | 'í' | 'î' | 'ï' => push('i', &mut out),
                'ç' => push('c', &mut out),
                'ñ' => push('n', &mut out),
                'ý' | 'ÿ' => push('y', &mut out),
                'ß' => {
                    push('s', &mut out);
                    push('s', &mut out);
                }
                c => push(c, &mut out),
            }
        }
    }
    out
}

/// The searchable words of `text`, folded: letters and digits, split at
/// everything else (`anna@contoso.example` -> anna, contoso, example). A
/// phone number also gives its digits as one word (`+49 30 123` ->
/// 4930123), and an international one its national form too (030123: the
/// two-digit country codes of Germany, Austria and Switzerland).
pub fn words(text: &str) -> Vec<String> {
    // An address's top-level domain (`example`, `de`, `com`) tells no one
    // apart: it is left out, so it costs no index entry.
    let text = match text.trim().split_once('@') {
        Some((local, domain)) if !domain.contains(char::is_whitespace) => {
            let domain = domain.rsplit_once('.').map_or(domain, |(d, _)| d);
            format!("{local}@{domain}")
        }
        _ => text.to_string(),
    };
    let text = text.as_str();
    let folded = fold(text);
    // One letter or digit alone finds nothing worth an index entry.
    let mut out: Vec<String> = folded
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().nth(1).is_some())
        .map(str::to_string)
        .collect();
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    let phone_like = text
        .chars()
        .all(|c| c.is_ascii_digit() || " +-/()".contains(c));
    if phone_like && digits.len() >= 5 {
        let national = text
            .trim_start()
            .starts_with('+')
            .then(|| digits.get(2..).map(|rest| format!("0{rest}")))
            .flatten();
        for w in [Some(digits), national].into_iter().flatten() {
            if !out.contains(&w) {
                out.push(w);
            }
        }
    }
    out
}

/// The searchable words of several fields, each once.
pub fn terms<'a>(fields: impl IntoIterator<Item = Option<&'a str>>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for f in fields.into_iter().flatten() {
        for w in words(f) {
            if !out.contains(&w) {
                out.push(w);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn umlauts_and_their_spellings_fold_together() {
        assert_eq!(fold("Müller"), "muller");
        assert_eq!(fold("Mueller"), "muller");
        assert_eq!(fold("MULLER"), "muller");
        assert_eq!(fold("Weiß"), fold("Weiss"));
        assert_eq!(fold("Göthe"), fold("Goethe"));
        assert_eq!(fold("Café"), "cafe");
        assert_eq!(fold("Zoë"), fold("Zoe"));
    }

    #[test]
    fn words_split_addresses_and_keep_phone_digits() {
        assert_eq!(
            words("anna.mueller@contoso.example"),
            ["anna", "muller", "contoso"]
        );
        assert_eq!(
            words("+49 30 1234567"),
            ["49", "30", "1234567", "49301234567", "0301234567"]
        );
        assert_eq!(
            terms([Some("Bürostühle"), None, Some("bürostühle Berlin")]),
            ["burostuhle", "berlin"]
        );
    }
}
