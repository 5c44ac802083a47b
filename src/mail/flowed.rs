//! `format=flowed` text (RFC 3676), as Thunderbird and others send it, rejoined.

/// RFC 3676 `format=flowed`: a line ending in a space continues on the next line of the same
/// quote depth (the space is dropped when `delsp=yes`), except the signature separator `-- `;
/// a space opening an unquoted line is stuffing and is removed.
pub(super) fn unflow(text: &str, delete_space: bool) -> String {
    let mut unflowed = String::with_capacity(text.len());
    let mut flowing_depth = None;
    for (index, line) in text.split('\n').enumerate() {
        let depth = line.bytes().take_while(|&byte| byte == b'>').count();
        let line = if depth == 0 { line.strip_prefix(' ').unwrap_or(line) } else { line };
        if flowing_depth == Some(depth) {
            let continuation = &line[depth..];
            unflowed.push_str(if depth > 0 {
                continuation.strip_prefix(' ').unwrap_or(continuation)
            } else {
                continuation
            });
        } else {
            if index > 0 {
                unflowed.push('\n');
            }
            unflowed.push_str(line);
        }
        let flowed = line.ends_with(' ') && line != "-- ";
        if flowed && delete_space {
            unflowed.pop();
        }
        flowing_depth = flowed.then_some(depth);
    }
    unflowed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mail::testing::body;

    #[test]
    fn format_flowed_lines_are_rejoined_and_the_signature_kept() {
        assert_eq!(
            body(fixture!("thunderbird-format-flowed")),
            "Bonjour, la salle polyvalente est réservée samedi de 14h à 18h pour l'assemblée générale, \
             merci d'arriver un quart d'heure avant le début de la séance.\n\
             From the desk of Luc.\n\n-- \nLuc Garnier\n"
        );
    }

    #[test]
    fn format_flowed_delsp_drops_the_space_and_quotes_keep_their_depth() {
        let flowed = "Un mot trop lo \nng.\n> cité \n> suite\n>> plus \n> profond\n";
        assert_eq!(unflow(flowed, true), "Un mot trop long.\n> citésuite\n>> plus\n> profond\n");
        assert_eq!(unflow(flowed, false), "Un mot trop lo ng.\n> cité suite\n>> plus \n> profond\n");
    }
}
