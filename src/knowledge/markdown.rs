//! Markdown to plain text for passages: one block per paragraph, heading, table row or list
//! (short list items are joined into one sentence), with links, emphasis and HTML dropped.

use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};

/// Renders Markdown as plain-text blocks; each block is one paragraph-like unit.
pub fn to_blocks(markdown: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current = String::new();
    // Items of the outermost list being read; nested items are flattened into it.
    let mut list_items: Vec<String> = Vec::new();
    let mut list_depth = 0usize;
    let mut row_cells: Vec<String> = Vec::new();

    let options = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH;
    for event in Parser::new_ext(markdown, options) {
        match event {
            Event::Text(t) | Event::Code(t) => current.push_str(&t),
            Event::SoftBreak | Event::HardBreak => current.push(' '),
            Event::Start(Tag::List(_)) => {
                if list_depth > 0 {
                    flush(&mut current, &mut list_items);
                }
                list_depth += 1;
            }
            Event::End(TagEnd::List(_)) => {
                flush(&mut current, &mut list_items);
                list_depth = list_depth.saturating_sub(1);
                if list_depth == 0 {
                    blocks.extend(join_list(std::mem::take(&mut list_items)));
                }
            }
            Event::End(TagEnd::Item) => flush(&mut current, &mut list_items),
            Event::End(TagEnd::Paragraph)
            | Event::End(TagEnd::Heading(_))
            | Event::End(TagEnd::CodeBlock)
            | Event::End(TagEnd::BlockQuote(_)) => {
                if list_depth > 0 {
                    flush(&mut current, &mut list_items);
                } else {
                    flush(&mut current, &mut blocks);
                }
            }
            Event::End(TagEnd::TableCell) => {
                row_cells.push(normalise(&std::mem::take(&mut current)));
            }
            Event::End(TagEnd::TableRow) | Event::End(TagEnd::TableHead) => {
                let cells: Vec<String> = std::mem::take(&mut row_cells)
                    .into_iter()
                    .filter(|c| !c.is_empty())
                    .collect();
                if !cells.is_empty() {
                    blocks.push(end_sentence(cells.join("; ")));
                }
            }
            Event::Html(_) | Event::InlineHtml(_) => {}
            _ => {}
        }
    }
    flush(&mut current, &mut blocks);
    blocks
}

fn normalise(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn flush(current: &mut String, into: &mut Vec<String>) {
    let text = normalise(current);
    current.clear();
    if !text.is_empty() {
        into.push(text);
    }
}

fn ends_sentence(s: &str) -> bool {
    s.ends_with(['.', '!', '?', ':', ';', '\u{2026}'])
}

fn end_sentence(mut s: String) -> String {
    if !ends_sentence(&s) {
        s.push('.');
    }
    s
}

/// Short items read best as one sentence ("a; b; c."); long ones stay separate sentences.
fn join_list(items: Vec<String>) -> Vec<String> {
    if items.is_empty() {
        return items;
    }
    let short = items
        .iter()
        .all(|i| i.chars().count() <= 70 && !i.trim_end_matches('.').contains(". "));
    if short && items.len() > 1 {
        let joined: Vec<String> = items
            .iter()
            .map(|i| i.trim_end_matches(['.', ';', ',']).to_string())
            .collect();
        vec![end_sentence(joined.join("; "))]
    } else {
        items.into_iter().map(end_sentence).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::to_blocks;

    #[test]
    fn paragraphs_links_and_emphasis_become_plain_blocks() {
        let md = "First *para*\ncontinues [here](https://x.org).\n\nSecond <b>one</b>.";
        assert_eq!(
            to_blocks(md),
            vec!["First para continues here.", "Second one."]
        );
    }

    #[test]
    fn short_list_items_join_into_one_sentence() {
        let md = "Areas:\n\n- Culture\n- Teaching.\n- Curriculum and assessment\n";
        assert_eq!(
            to_blocks(md),
            vec!["Areas:", "Culture; Teaching; Curriculum and assessment."]
        );
    }

    #[test]
    fn long_list_items_stay_separate_sentences() {
        let long = "x".repeat(80);
        let md = format!("- {long}\n- short item\n");
        let blocks = to_blocks(&md);
        assert_eq!(blocks, vec![format!("{long}."), "short item.".to_string()]);
    }

    #[test]
    fn table_rows_become_sentences() {
        let md = "| a | b |\n|---|---|\n| NPQH | £1,885 |\n";
        assert_eq!(to_blocks(md), vec!["a; b.", "NPQH; £1,885."]);
    }
}
