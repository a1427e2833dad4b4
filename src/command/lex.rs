//! Splits a command line into words and `name:value` options.
//!
//! Values with spaces are quoted with `"`, `'` or typographic quotes (chat
//! clients substitute those). A backslash escapes a quote inside quotes.

/// One piece of a command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Token {
    /// A bare or quoted word: a command name, an id, or free text.
    Word { text: String, quoted: bool },
    /// `name:value`; the name is as typed.
    Opt { name: String, value: String },
}

fn closing_quote(open: char) -> Option<char> {
    match open {
        '"' => Some('"'),
        '\'' => Some('\''),
        '“' => Some('”'),
        '„' => Some('“'),
        '‘' => Some('’'),
        '«' => Some('»'),
        _ => None,
    }
}

fn read_quoted(
    chars: &mut std::iter::Peekable<std::str::Chars<'_>>,
    open: char,
) -> Result<String, String> {
    let close = closing_quote(open).unwrap_or(open);
    let mut out = String::new();
    loop {
        match chars.next() {
            None => {
                return Err(format!(
                    "a value opened with {open} is not closed; add the closing quote"
                ))
            }
            Some('\\') => match chars.next() {
                Some(c) => out.push(c),
                None => return Err("a backslash ends the line; remove it".to_string()),
            },
            // A typographic quote is closed by either double form, since
            // clients mix them; inside straight quotes, typographic ones are
            // text (`name:"Bürostuhl „Ergo“"`).
            Some(c)
                if c == close
                    || (matches!(open, '“' | '„') && (c == '"' || c == '”' || c == '“')) =>
            {
                return Ok(out)
            }
            Some(c) => out.push(c),
        }
    }
}

fn is_option_name(s: &str) -> bool {
    let mut cs = s.chars();
    matches!(cs.next(), Some(c) if c.is_alphabetic() || c == '_')
        && cs.all(|c| c.is_alphanumeric() || c == '_' || c == '-' || c == '.')
}

/// Splits `line` into tokens.
///
/// Fails on an unclosed quote.
pub fn tokenize(line: &str) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let Some(&first) = chars.peek() else {
            return Ok(tokens);
        };
        if closing_quote(first).is_some() {
            chars.next();
            let text = read_quoted(&mut chars, first)?;
            tokens.push(Token::Word { text, quoted: true });
            continue;
        }
        let mut word = String::new();
        let mut option: Option<(String, String)> = None;
        while let Some(&c) = chars.peek() {
            if c.is_whitespace() {
                break;
            }
            chars.next();
            if c == ':' && option.is_none() && is_option_name(&word) {
                let name = std::mem::take(&mut word);
                // The value: quoted, or up to the next space.
                let value = match chars.peek() {
                    Some(&q) if closing_quote(q).is_some() => {
                        chars.next();
                        read_quoted(&mut chars, q)?
                    }
                    _ => {
                        let mut v = String::new();
                        while let Some(&c) = chars.peek() {
                            if c.is_whitespace() {
                                break;
                            }
                            v.push(c);
                            chars.next();
                        }
                        v
                    }
                };
                option = Some((name, value));
                break;
            }
            word.push(c);
        }
        match option {
            Some((name, value)) => tokens.push(Token::Opt { name, value }),
            None => tokens.push(Token::Word {
                text: word,
                quoted: false,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(s: &str) -> Token {
        Token::Word {
            text: s.into(),
            quoted: false,
        }
    }
    fn o(n: &str, v: &str) -> Token {
        Token::Opt {
            name: n.into(),
            value: v.into(),
        }
    }

    #[test]
    fn options_take_quoted_values_with_spaces() {
        let t = tokenize(r#"/lead new topic:"Office chairs" first:Anna company:'Contoso GmbH'"#);
        assert_eq!(
            t,
            Ok(vec![
                w("/lead"),
                w("new"),
                o("topic", "Office chairs"),
                o("first", "Anna"),
                o("company", "Contoso GmbH")
            ])
        );
    }

    #[test]
    fn typographic_quotes_from_chat_clients_work() {
        let t = tokenize("/disqualify L-1 reason:“cannot contact”");
        assert_eq!(
            t,
            Ok(vec![
                w("/disqualify"),
                w("L-1"),
                o("reason", "cannot contact")
            ])
        );
    }

    #[test]
    fn urls_and_times_split_at_the_first_colon_only() {
        let t = tokenize("website:https://contoso.example due:10:00");
        assert_eq!(
            t,
            Ok(vec![
                o("website", "https://contoso.example"),
                o("due", "10:00")
            ])
        );
    }

    #[test]
    fn an_unclosed_quote_is_an_error() {
        assert!(tokenize(r#"/note L-1 "never closed"#).is_err());
    }

    #[test]
    fn escaped_quotes_stay_in_the_value() {
        let t = tokenize(r#"description:"the \"best\" chair""#);
        assert_eq!(t, Ok(vec![o("description", r#"the "best" chair"#)]));
    }

    #[test]
    fn typographic_quotes_inside_straight_quotes_are_text() {
        let t = tokenize("/product edit P1 name:\"Bürostuhl „Ergo“ Größe L\" price:1").expect("ok");
        assert_eq!(t[3], o("name", "Bürostuhl „Ergo“ Größe L"));
        assert_eq!(t[4], o("price", "1"));
        let t = tokenize("/note L-1 'sagte „ja“'").expect("ok");
        assert_eq!(
            t[2],
            Token::Word {
                text: "sagte „ja“".into(),
                quoted: true
            }
        );
    }
}
