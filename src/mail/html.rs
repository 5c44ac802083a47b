//! HTML as the text a reader sees, for emails whose only text is HTML: a small renderer,
//! linear in its input and stopping at a limit, with mail-parser's entity table.

use mail_parser::decoders::html::add_html_token;

/// HTML as the text a reader sees: entities decoded (`&eacute;`, `&#233;`, `&#xE9;`, `&nbsp;`,
/// `&amp;`…, with HTML5's names), tags removed, `<br>` a line break, the start and end of a block
/// (`p`, `div`, `li`, `tr`, `h1`–`h6`, …) the end of a line, table cells separated by a space,
/// comments and the content of `<head>`, `<style>`, `<script>`, `<title>` and `<template>`
/// dropped. Then each line's whitespace runs (non-breaking spaces included) become one space and
/// its ends are trimmed, at most one blank line is kept in a row, and the whole is trimmed. A line
/// that reads `--` is written `-- `, plain text's signature separator, which HTML cannot show.
pub fn html_to_text(html: &str) -> String {
    render_html(html, usize::MAX).0
}

/// [`html_to_text`], stopping once the text passes `limit` bytes (a few bytes more may be
/// kept). Says whether it stopped: the HTML then has more text than that.
pub(super) fn render_html(html: &str, limit: usize) -> (String, bool) {
    let mut text = RenderedText { limit, ..RenderedText::default() };
    let mut rest = html;
    while let Some(markup) = rest.find(['<', '&'])
        && !text.full
    {
        text.push_str(&rest[..markup]);
        rest = &rest[markup..];
        rest = if rest.starts_with('&') { text.push_entity(rest) } else { text.push_markup(rest) };
    }
    text.push_str(rest);
    let cut = text.full;
    (text.finish(), cut)
}

const NO_BREAK_SPACE: char = '\u{A0}';

/// The text of an HTML document as it is rendered: whitespace is a space, line ends are `\n`.
#[derive(Default)]
struct RenderedText {
    text: String,
    /// The most bytes of text kept; once reached, `full` is set and nothing more is added.
    limit: usize,
    full: bool,
    in_head: bool,
    /// The current line holds something visible: a non-breaking space counts (Outlook writes
    /// its blank lines `<p>&nbsp;</p>`), source whitespace does not.
    line_has_content: bool,
    /// How many `<blockquote>` are open: their lines are written `> ` per level, as a plain
    /// text client quotes, so that a quoted conversation reads as one (see `domain::quote`).
    quote_depth: usize,
}

/// The deepest quoting written out; deeper levels are written as this one.
const MAX_QUOTE_DEPTH: usize = 8;

impl RenderedText {
    fn push_str(&mut self, source: &str) {
        if self.in_head || self.full {
            return;
        }
        for character in source.chars() {
            if self.text.len() >= self.limit {
                self.full = true;
                return;
            }
            let visible = character == NO_BREAK_SPACE || !(character.is_whitespace() || character.is_control());
            if visible && !self.line_has_content && self.quote_depth > 0 {
                for _ in 0..self.quote_depth.min(MAX_QUOTE_DEPTH) {
                    self.text.push_str("> ");
                }
            }
            if character == NO_BREAK_SPACE {
                self.text.push(NO_BREAK_SPACE);
                self.line_has_content = true;
            } else if character.is_whitespace() {
                if !self.text.ends_with(' ') {
                    self.text.push(' ');
                }
            } else if !character.is_control() {
                self.text.push(character);
                self.line_has_content = true;
            }
        }
    }

    fn break_line(&mut self) {
        if self.in_head || self.full {
            return;
        }
        if self.text.len() >= self.limit {
            self.full = true;
        } else {
            self.text.push('\n');
            self.line_has_content = false;
        }
    }

    /// Ends the current line, unless it holds nothing yet.
    fn end_line(&mut self) {
        if self.line_has_content {
            self.break_line();
        }
    }

    /// Reads the `&…;` at the start of `source`; returns what follows it.
    fn push_entity<'a>(&mut self, source: &'a str) -> &'a str {
        let entity_end = source
            .bytes()
            .take(34)
            .skip(1)
            .position(|byte| !(byte.is_ascii_alphanumeric() || byte == b'#'))
            .map(|offset| offset + 1)
            .filter(|&end| end > 1 && source.as_bytes()[end] == b';');
        let Some(end) = entity_end else {
            self.push_str("&");
            return &source[1..];
        };
        let mut decoded = String::new();
        add_html_token(&mut decoded, &source.as_bytes()[..=end], false);
        self.push_str(&decoded);
        &source[end + 1..]
    }

    /// Reads the tag, comment or declaration at the start of `source` (which starts with `<`);
    /// returns what follows it.
    fn push_markup<'a>(&mut self, source: &'a str) -> &'a str {
        let after = &source[1..];
        if let Some(comment) = after.strip_prefix("!--") {
            return comment.find("-->").map_or("", |end| &comment[end + 3..]);
        }
        if after.starts_with(['!', '?']) {
            return after.find('>').map_or("", |end| &after[end + 1..]);
        }
        let (closing, tag) = match after.strip_prefix('/') {
            Some(tag) => (true, tag),
            None => (false, after),
        };
        if !tag.starts_with(|character: char| character.is_ascii_alphabetic()) {
            self.push_str("<");
            return after;
        }
        let name_len = tag.find(|character: char| !(character.is_ascii_alphanumeric() || ":-".contains(character)));
        let name = tag[..name_len.unwrap_or(tag.len())].to_ascii_lowercase();
        let rest = skip_tag(&tag[name.len()..]);
        match name.as_str() {
            "style" | "script" | "title" | "template" if !closing => skip_raw_text(rest, &name),
            "br" => {
                self.break_line();
                rest
            }
            "head" => {
                self.in_head = !closing;
                rest
            }
            "body" => {
                self.in_head = false;
                rest
            }
            "blockquote" => {
                self.end_line();
                self.quote_depth = if closing { self.quote_depth.saturating_sub(1) } else { self.quote_depth + 1 };
                rest
            }
            "td" | "th" => {
                self.push_str(" ");
                rest
            }
            name if is_block(name) => {
                self.end_line();
                rest
            }
            _ => rest,
        }
    }

    fn finish(self) -> String {
        let mut text = String::with_capacity(self.text.len());
        let mut blank_line_pending = false;
        for line in self.text.split('\n') {
            let mut words = line.split([' ', NO_BREAK_SPACE]).filter(|word| !word.is_empty()).peekable();
            if words.peek().is_none() {
                blank_line_pending = !text.is_empty();
                continue;
            }
            if !text.is_empty() {
                text.push('\n');
                if blank_line_pending {
                    text.push('\n');
                }
            }
            blank_line_pending = false;
            let line_start = text.len();
            for (index, word) in words.enumerate() {
                if index > 0 {
                    text.push(' ');
                }
                text.push_str(word);
            }
            if &text[line_start..] == "--" {
                text.push(' ');
            }
        }
        text
    }
}

/// Elements that start and end on a line of their own.
fn is_block(name: &str) -> bool {
    matches!(
        name,
        "p" | "div"
            | "li"
            | "tr"
            | "h1"
            | "h2"
            | "h3"
            | "h4"
            | "h5"
            | "h6"
            | "ul"
            | "ol"
            | "dl"
            | "dt"
            | "dd"
            | "table"
            | "blockquote"
            | "pre"
            | "hr"
            | "address"
            | "center"
            | "section"
            | "article"
            | "header"
            | "footer"
    )
}

/// Skips the rest of a tag (its attributes, quoted values included) up to and past its `>`.
fn skip_tag(attributes: &str) -> &str {
    let mut quote = None;
    for (index, byte) in attributes.bytes().enumerate() {
        match (quote, byte) {
            (None, b'"' | b'\'') => quote = Some(byte),
            (Some(open), _) if open == byte => quote = None,
            (None, b'>') => return &attributes[index + 1..],
            _ => {}
        }
    }
    ""
}

/// Skips the content of a raw-text element (`<style>`, `<script>`…) and its end tag.
fn skip_raw_text<'a>(content: &'a str, name: &str) -> &'a str {
    let end_tag = format!("</{name}");
    let found =
        content.as_bytes().windows(end_tag.len()).position(|window| window.eq_ignore_ascii_case(end_tag.as_bytes()));
    found.map_or("", |start| skip_tag(&content[start + end_tag.len()..]))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::mail::testing::body;

    #[test]
    fn html_only_body_is_the_text_a_reader_sees() {
        assert_eq!(
            body(fixture!("html-only-entities")),
            "Alerte : le serveur « web-01 » ne répond plus.\n\
             Dernière réponse à 03h12 & 5 tentatives <HTTP 503>.\n\
             Merci de vérifier."
        );
    }

    #[test]
    fn blockquotes_are_quoted_line_by_line_as_plain_text_quotes() {
        assert_eq!(
            html_to_text(
                "<p>Merci</p><blockquote type=\"cite\"><p>Hier</p>encore<blockquote>plus loin</blockquote></blockquote>fin"
            ),
            "Merci\n> Hier\n> encore\n> > plus loin\nfin"
        );
        let deep = "<blockquote>".repeat(100) + "x";
        assert_eq!(html_to_text(&deep), "> ".repeat(MAX_QUOTE_DEPTH) + "x");
    }

    #[test]
    fn entities_are_decoded() {
        assert_eq!(
            html_to_text("caf&eacute; &#233;t&#xE9; &amp; &lt;b&gt; &quot;x&quot; &euro;&nbsp;5"),
            "café été & <b> \"x\" € 5"
        );
        assert_eq!(html_to_text("AT&T &unknown; &#xZZ; & ;"), "AT&T &unknown; &#xZZ; & ;");
    }

    #[test]
    fn line_breaks_and_block_ends_end_lines() {
        assert_eq!(html_to_text("un<br>deux<br/>trois<BR />quatre"), "un\ndeux\ntrois\nquatre");
        assert_eq!(
            html_to_text("<p>un</p><div>deux</div><ul><li>trois</li><li>quatre</li></ul>"),
            "un\ndeux\ntrois\nquatre"
        );
        assert_eq!(
            html_to_text("<h1>Titre</h1>texte<table><tr><td>a</td><td>b</td></tr><tr><td>c</td></tr></table>"),
            "Titre\ntexte\na b\nc"
        );
        assert_eq!(html_to_text("<div>un<br></div><div>deux</div>"), "un\ndeux", "a trailing <br> adds no line");
    }

    #[test]
    fn at_most_one_blank_line_in_a_row() {
        assert_eq!(html_to_text("un<br><br><br><br>deux<p></p><p></p><br>"), "un\n\ndeux");
        assert_eq!(
            html_to_text("<p>Bonjour,</p>\n<p>&nbsp;</p>\n<p>Marie</p>"),
            "Bonjour,\n\nMarie",
            "Outlook's blank line"
        );
        assert_eq!(html_to_text("<div>un</div><div><br></div><div>deux</div>"), "un\n\ndeux", "Gmail's blank line");
    }

    #[test]
    fn whitespace_runs_collapse_and_lines_are_trimmed() {
        assert_eq!(
            html_to_text("  <p>  un \t\r\n  deux  </p>  \n  <p>trois&nbsp;&nbsp; quatre </p> "),
            "un deux\ntrois quatre"
        );
        assert_eq!(html_to_text("un<b>deux</b> <i>trois</i>"), "undeux trois");
    }

    #[test]
    fn head_style_script_and_comments_are_dropped() {
        let html = "<html><head><title>Titre</title><meta charset=utf-8><style>p { color: red; }</style></head>\
                    <body><!-- note <p>cachée</p> --><script type=\"text/javascript\">if (a < b && c) {}</script>\
                    <STYLE>.x{}</STYLE>visible<template>modèle</template><!--[if mso]>mso<![endif]--></body></html>";
        assert_eq!(html_to_text(html), "visible");
    }

    #[test]
    fn stray_angle_brackets_and_broken_tags_are_survived() {
        assert_eq!(html_to_text("1 < 2 et 3 <= 4 <3"), "1 < 2 et 3 <= 4 <3");
        assert_eq!(html_to_text("avant <a href=\"x>y\" title='>'>lien</a> après"), "avant lien après");
        assert_eq!(html_to_text("texte <b"), "texte");
        assert_eq!(html_to_text("<style>jamais fermé"), "");
        assert_eq!(html_to_text("<!-- jamais fermé"), "");
        assert_eq!(html_to_text(""), "");
    }

    #[test]
    fn long_runs_of_markup_take_linear_time() {
        assert_eq!(html_to_text(&"<p> &nbsp;".repeat(400_000)), "");
        assert_eq!(html_to_text(&"<div> \n".repeat(400_000)), "");
        assert_eq!(html_to_text(&format!("{}<style>", "a<br>".repeat(200_000))).lines().count(), 200_000);
    }

    #[test]
    fn an_html_signature_separator_keeps_its_space() {
        assert_eq!(html_to_text("Message<br><br>-- <br>Jean"), "Message\n\n-- \nJean");
    }

    proptest! {
        #[test]
        fn html_to_text_never_panics_and_stays_tidy(html in "(<[a-zA-Z/!?-]{0,6}[^>]{0,8}>?|&[#a-zA-Z0-9]{0,8};?|[^<&]{0,12}|\\s{0,3})*") {
            let text = html_to_text(&html);
            prop_assert_eq!(text.trim(), text.as_str());
            prop_assert!(!text.contains("\n\n\n"));
            for line in text.lines() {
                prop_assert_eq!(line.trim_start(), line);
                prop_assert!(line.trim_end() == line || line == "-- ");
            }
        }

        #[test]
        fn html_to_text_never_panics_on_any_text(html in any::<String>()) {
            let _ = html_to_text(&html);
        }
    }
}
