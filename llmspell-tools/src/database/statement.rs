//! What SQL text `database_connector` runs on SQLite: exactly one
//! statement, and none that reaches other files or changes the connection
//! (`ATTACH`, `DETACH`, `VACUUM`, `PRAGMA`).
//!
//! SQLite runs every statement of a text it is given, so a call could
//! append a second statement after its query; and `ATTACH`/`VACUUM INTO`
//! name files anywhere on the host. The text is split into tokens the way
//! SQLite reads them (quoted strings and identifiers, comments), so a `;`
//! inside a string or comment is not a separator.

use llmspell_core::{Error, Result};

/// Statements refused on SQLite, and why.
const REFUSED: [(&str, &str); 4] = [
    (
        "ATTACH",
        "it opens another database file, outside the file-system roots",
    ),
    ("DETACH", "databases cannot be attached"),
    (
        "VACUUM",
        "`VACUUM INTO` writes a file outside the file-system roots",
    ),
    (
        "PRAGMA",
        "it changes the connection's settings; read pragmas through their table-valued \
         functions, e.g. `SELECT * FROM pragma_table_info('t')`",
    ),
];

/// The first keyword of `sql`, upper-cased, after checking that `sql` is one
/// SQLite statement (a trailing `;` allowed) that is not refused.
///
/// # Errors
/// [`Error::InvalidInput`] (field `sql`) for empty text, more than one
/// statement, an unterminated string or comment; [`Error::SecurityViolation`]
/// for a refused statement.
pub(crate) fn check_sqlite(sql: &str) -> Result<String> {
    let tokens = tokenize(sql)?;
    let mut statements = tokens
        .split(|t| *t == Token::Semicolon)
        .filter(|s| !s.is_empty());
    let Some(first) = statements.next() else {
        return Err(Error::invalid_input("sql", "expected an SQL statement"));
    };
    if let Some(second) = statements.next() {
        return Err(Error::invalid_input(
            "sql",
            format!(
                "expected one statement, found another after `;` (starting with `{}`); run \
                 statements one call at a time",
                second.first().map_or("", Token::text)
            ),
        ));
    }
    let keyword = match first.first() {
        Some(Token::Word(w)) => w.to_ascii_uppercase(),
        _ => String::new(),
    };
    // `EXPLAIN [QUERY PLAN] x` does not run `x`.
    if let Some((name, why)) = REFUSED.iter().find(|(name, _)| *name == keyword) {
        return Err(Error::SecurityViolation {
            message: format!("SQLite `{name}` statements are refused: {why}"),
        });
    }
    Ok(keyword)
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    /// A keyword or bare identifier.
    Word(String),
    /// A string, quoted identifier, number, operator or placeholder.
    Other,
    Semicolon,
}

impl Token {
    fn text(&self) -> &str {
        match self {
            Token::Word(w) => w,
            Token::Other => "…",
            Token::Semicolon => ";",
        }
    }
}

/// Splits `sql` into words, semicolons and other tokens, skipping
/// whitespace and comments.
fn tokenize(sql: &str) -> Result<Vec<Token>> {
    let chars: Vec<char> = sql.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            c if c.is_whitespace() => i += 1,
            '-' if chars.get(i + 1) == Some(&'-') => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            '/' if chars.get(i + 1) == Some(&'*') => {
                let end = (i + 2..chars.len().saturating_sub(1))
                    .find(|&j| chars[j] == '*' && chars[j + 1] == '/')
                    .ok_or_else(|| unterminated("comment"))?;
                i = end + 2;
            }
            '\'' | '"' | '`' => {
                i = skip_quoted(&chars, i, c)?;
                tokens.push(Token::Other);
            }
            '[' => {
                let end = (i + 1..chars.len())
                    .find(|&j| chars[j] == ']')
                    .ok_or_else(|| unterminated("[identifier]"))?;
                i = end + 1;
                tokens.push(Token::Other);
            }
            ';' => {
                tokens.push(Token::Semicolon);
                i += 1;
            }
            c if c.is_alphabetic() || c == '_' => {
                let start = i;
                while i < chars.len()
                    && (chars[i].is_alphanumeric() || matches!(chars[i], '_' | '$'))
                {
                    i += 1;
                }
                tokens.push(Token::Word(chars[start..i].iter().collect()));
            }
            _ => {
                i += 1;
                tokens.push(Token::Other);
            }
        }
    }
    Ok(tokens)
}

/// The index after the quoted token starting at `start` (doubled quotes
/// escape the quote).
fn skip_quoted(chars: &[char], start: usize, quote: char) -> Result<usize> {
    let mut i = start + 1;
    while i < chars.len() {
        if chars[i] == quote {
            if chars.get(i + 1) == Some(&quote) {
                i += 2;
                continue;
            }
            return Ok(i + 1);
        }
        i += 1;
    }
    Err(unterminated(match quote {
        '\'' => "string",
        _ => "quoted identifier",
    }))
}

fn unterminated(what: &str) -> Error {
    Error::invalid_input("sql", format!("unterminated {what}"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn one_statement_passes_with_its_keyword() {
        assert_eq!(check_sqlite("select 1;").unwrap(), "SELECT");
        assert_eq!(
            check_sqlite(
                "-- a comment; with a semicolon\n  WITH x AS (SELECT ';') SELECT * FROM x ;  "
            )
            .unwrap(),
            "WITH"
        );
        assert_eq!(
            check_sqlite("INSERT INTO t VALUES ('a;b', \"c;\"\"d\", [e;f], `g;h`) /* ; */")
                .unwrap(),
            "INSERT"
        );
        assert_eq!(
            check_sqlite("explain query plan attach 'x' as y").unwrap(),
            "EXPLAIN"
        );
    }

    #[test]
    fn a_second_statement_is_refused() {
        for sql in [
            "SELECT 1; SELECT 2",
            "SELECT 'x'; ATTACH '/tmp/x' AS y",
            "SELECT 1;;DROP TABLE t",
            "SELECT 1 /* x */; -- y\n DELETE FROM t",
        ] {
            let err = check_sqlite(sql).unwrap_err();
            assert!(err.to_string().contains("one statement"), "{sql}: {err}");
        }
    }

    #[test]
    fn statements_reaching_files_or_settings_are_refused() {
        for sql in [
            "ATTACH DATABASE '/etc/x.db' AS x",
            "  /* c */ attach 'x' as y",
            "DETACH x",
            "VACUUM INTO '/tmp/copy.db'",
            "PRAGMA query_only = OFF",
        ] {
            match check_sqlite(sql) {
                Err(Error::SecurityViolation { message }) => {
                    assert!(message.contains("refused"), "{message}");
                }
                other => panic!("{sql}: {other:?}"),
            }
        }
    }

    #[test]
    fn empty_and_unterminated_text_is_an_input_error() {
        for sql in [
            "",
            "  ;  ",
            "-- only a comment",
            "SELECT 'open",
            "SELECT /* open",
        ] {
            let err = check_sqlite(sql).unwrap_err();
            assert!(err.to_string().contains("`sql`"), "{sql}: {err}");
        }
    }
}
