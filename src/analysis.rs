//! Language handling shared by indexing and answering: the English stemming analyzer,
//! stop words, sentence boundaries and the question-type patterns.

use std::cell::RefCell;
use std::ops::Range;
use std::sync::OnceLock;

use regex::Regex;
use tantivy::tokenizer::{
    AsciiFoldingFilter, LowerCaser, RemoveLongFilter, Stemmer, TextAnalyzer, Token as TantivyToken,
    TokenFilter, TokenStream, Tokenizer,
};

/// The name the analyzer is registered under in every index.
pub const ANALYZER: &str = "npq_en";

/// Lowercased, ASCII-folded, English-stemmed words: the same for documents and questions.
pub fn analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(WordTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .filter(Stemmer::default())
        .filter(AcronymPlural)
        .build()
}

/// Splits text into runs of letters and digits, like tantivy's simple tokenizer, but reads a
/// `+` straight after a word as the word "plus", so that "NPQ+" is not just "NPQ".
#[derive(Clone, Default)]
pub struct WordTokenizer {
    token: TantivyToken,
}

pub struct WordStream<'a> {
    text: &'a str,
    next: usize,
    token: &'a mut TantivyToken,
}

impl Tokenizer for WordTokenizer {
    type TokenStream<'a> = WordStream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> WordStream<'a> {
        self.token.reset();
        WordStream {
            text,
            next: 0,
            token: &mut self.token,
        }
    }
}

impl TokenStream for WordStream<'_> {
    fn advance(&mut self) -> bool {
        self.token.text.clear();
        self.token.position = self.token.position.wrapping_add(1);
        let mut prev_is_word = self.text[..self.next]
            .chars()
            .next_back()
            .is_some_and(char::is_alphanumeric);
        for (i, c) in self.text[self.next..].char_indices() {
            let start = self.next + i;
            if c == '+' && prev_is_word {
                self.token.offset_from = start;
                self.token.offset_to = start + 1;
                self.token.text.push_str("plus");
                self.next = start + 1;
                return true;
            }
            if c.is_alphanumeric() {
                let end = self.text[start..]
                    .find(|c: char| !c.is_alphanumeric())
                    .map_or(self.text.len(), |e| start + e);
                self.token.offset_from = start;
                self.token.offset_to = end;
                self.token.text.push_str(&self.text[start..end]);
                self.next = end;
                return true;
            }
            prev_is_word = false;
        }
        self.next = self.text.len();
        false
    }

    fn token(&self) -> &TantivyToken {
        self.token
    }

    fn token_mut(&mut self) -> &mut TantivyToken {
        self.token
    }
}

/// Makes the plural of an acronym its singular ("npqs" -> "npq"): the English stemmer
/// keeps a final `s` after a word without vowels.
#[derive(Clone)]
pub struct AcronymPlural;

impl TokenFilter for AcronymPlural {
    type Tokenizer<T: Tokenizer> = AcronymPluralFilter<T>;

    fn transform<T: Tokenizer>(self, tokenizer: T) -> AcronymPluralFilter<T> {
        AcronymPluralFilter(tokenizer)
    }
}

#[derive(Clone)]
pub struct AcronymPluralFilter<T>(T);

impl<T: Tokenizer> Tokenizer for AcronymPluralFilter<T> {
    type TokenStream<'a> = AcronymPluralStream<T::TokenStream<'a>>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> Self::TokenStream<'a> {
        AcronymPluralStream(self.0.token_stream(text))
    }
}

pub struct AcronymPluralStream<S>(S);

impl<S: TokenStream> TokenStream for AcronymPluralStream<S> {
    fn advance(&mut self) -> bool {
        if !self.0.advance() {
            return false;
        }
        let text = &mut self.0.token_mut().text;
        let stem = text.strip_suffix('s').unwrap_or("");
        if stem.len() >= 2
            && stem
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() && !b"aeiouy".contains(&b))
            && stem.bytes().any(|b| b.is_ascii_alphabetic())
        {
            text.pop();
        }
        true
    }

    fn token(&self) -> &TantivyToken {
        self.0.token()
    }

    fn token_mut(&mut self) -> &mut TantivyToken {
        self.0.token_mut()
    }
}

/// A stemmed word and where it stands in the original text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub stem: String,
    pub span: Range<usize>,
}

thread_local! {
    static ANALYZER_CELL: RefCell<TextAnalyzer> = RefCell::new(analyzer());
}

/// Every word of `text`, stemmed, with its byte span.
pub fn tokens(text: &str) -> Vec<Token> {
    ANALYZER_CELL.with(|cell| {
        let mut analyzer = cell.borrow_mut();
        let mut stream = analyzer.token_stream(text);
        let mut out = Vec::new();
        while stream.advance() {
            let t = stream.token();
            out.push(Token {
                stem: t.text.clone(),
                span: t.offset_from..t.offset_to,
            });
        }
        out
    })
}

/// Every word of `text` as a stem, function words kept.
pub fn stems(text: &str) -> Vec<String> {
    tokens(text).into_iter().map(|t| t.stem).collect()
}

/// The stems of `text` without stop words.
pub fn content_stems(text: &str) -> Vec<String> {
    tokens(text)
        .into_iter()
        .filter(|t| !is_stop_stem(&t.stem))
        .map(|t| t.stem)
        .collect()
}

/// Function words and conversational filler that carry no topic, as plain English words
/// (stemmed when first used). Topic words belong in the knowledge folder's glossary instead.
const STOP_WORDS: &str = "
    a about above actually after again ago all already also always am an and any anybody anyone anything anyway enough
    are aren as ask asking at basically be been before being bot but by can cannot certainly could couldn d dear
    describe did didn do does doesn doing don done dont e each either else etc even ever everybody everyone exactly
    explain for from get getting give go going gonna got gotten had hadn has hasn have haven having he hello help her
    here hey hi him his how however i if in into is isn it its just know kind let like list ll lot lots m maybe me mean
    might more most mr mrs ms much must my need never no not now of off ok okay on once one only or other our out own
    perhaps please plz pretty probably question quick re really s said say see shall she should shouldn show so some
    somebody someone something soon sort still stuff sure t tell than thank thanks that the their them then there these
    they thing things this those though through to today tomorrow too u under up us ve very was wasn we were weren what
    whatever when where whether which while who whom whose why will wish with won wonder would wouldn yes yesterday yet
    you your yourself myself ourselves themselves himself herself itself
    across along among around behind below beside besides between beyond during except inside near onto
    since towards toward upon via within without
    make makes made making come comes came put puts keep keeps kept find finds found happen happens
    many few
    recently lately nowadays currently anymore
";

/// True for the stem of a stop word, or a single letter ("e.g." reads as "e", "g").
pub fn is_stop_stem(stem: &str) -> bool {
    let mut chars = stem.chars();
    if chars.next().is_some_and(char::is_alphabetic) && chars.next().is_none() {
        return true;
    }
    stop_set().contains(stem)
}

/// The stems of the stop words, for fingerprinting the analysis an on-disk index was built with.
pub fn stop_stems() -> impl Iterator<Item = &'static str> {
    stop_set().iter().map(String::as_str)
}

fn stop_set() -> &'static std::collections::HashSet<String> {
    static SET: OnceLock<std::collections::HashSet<String>> = OnceLock::new();
    SET.get_or_init(|| {
        let mut analyzer = analyzer();
        let mut stream = analyzer.token_stream(STOP_WORDS);
        let mut set = std::collections::HashSet::new();
        while stream.advance() {
            set.insert(stream.token().text.clone());
        }
        set
    })
}

/// Byte ranges of the sentences of `text`: paragraphs (`\n`) always end a sentence; inside a
/// paragraph a sentence ends at `.`, `!` or `?` followed by a space and a capital, digit or `£`,
/// except after common abbreviations.
pub fn sentences(text: &str) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut start = 0usize;
    let bytes = text.as_bytes();
    let mut i = 0usize;
    let push = |out: &mut Vec<Range<usize>>, s: usize, e: usize| {
        let piece = &text[s..e];
        let lead = piece.len() - piece.trim_start().len();
        let trail = piece.len() - piece.trim_end().len();
        if s + lead < e - trail {
            out.push(s + lead..e - trail);
        }
    };
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'\n' {
            push(&mut out, start, i);
            start = i + 1;
        } else if matches!(b, b'.' | b'!' | b'?') && i + 1 < bytes.len() && bytes[i + 1] == b' ' {
            let next = text[i + 1..].trim_start().chars().next();
            let starts_new = next.is_some_and(|c| {
                c.is_uppercase()
                    || c.is_ascii_digit()
                    || matches!(c, '£' | '"' | '\u{201c}' | '(' | '\'')
            });
            if starts_new && !ends_with_abbreviation(&text[start..=i]) {
                push(&mut out, start, i + 1);
                start = i + 1;
            }
        }
        i += 1;
    }
    push(&mut out, start, text.len());
    out
}

fn ends_with_abbreviation(s: &str) -> bool {
    let last = s
        .rsplit(|c: char| c.is_whitespace() || c == '(')
        .next()
        .unwrap_or("")
        .to_lowercase();
    matches!(
        last.as_str(),
        "e.g."
            | "i.e."
            | "etc."
            | "dr."
            | "mr."
            | "mrs."
            | "ms."
            | "st."
            | "no."
            | "vs."
            | "approx."
            | "inc."
            | "cf."
    ) || (last.len() == 2 && last.ends_with('.') && last.starts_with(|c: char| c.is_alphabetic()))
}

/// What kind of fact a question asks for. A generic signal: passages and sentences that hold
/// a fact of that kind rank higher.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuestionType {
    Duration,
    Money,
    Date,
    Count,
}

fn re(cell: &'static OnceLock<Regex>, pattern: &str) -> &'static Regex {
    cell.get_or_init(|| Regex::new(pattern).expect("valid regex"))
}

impl QuestionType {
    /// This kind's bit in a set of kinds: 1, 2, 4 or 8, in the order of [`QuestionType::ALL`].
    pub fn bit(self) -> u8 {
        1 << QuestionType::ALL
            .iter()
            .position(|&k| k == self)
            .expect("every kind is in ALL")
    }

    pub const ALL: [QuestionType; 4] = [
        QuestionType::Duration,
        QuestionType::Money,
        QuestionType::Date,
        QuestionType::Count,
    ];

    /// A one-word name, used as an index token.
    pub fn name(self) -> &'static str {
        match self {
            QuestionType::Duration => "duration",
            QuestionType::Money => "money",
            QuestionType::Date => "date",
            QuestionType::Count => "count",
        }
    }

    /// The kinds of fact `question` asks for (possibly none).
    pub fn detect(question: &str) -> Vec<QuestionType> {
        static DURATION: OnceLock<Regex> = OnceLock::new();
        static MONEY: OnceLock<Regex> = OnceLock::new();
        static DATE: OnceLock<Regex> = OnceLock::new();
        static COUNT: OnceLock<Regex> = OnceLock::new();
        let q = question.to_lowercase();
        let mut out = Vec::new();
        let duration = re(
            &DURATION,
            r"\bhow long\b|\bduration\b|\blength\b|\bhow many (months|years|weeks|terms|hours|days)\b|\bhow much time\b|\b(shortest|longest|quickest|fastest)\b|\btime commitment\b|\bhow quickly\b",
        );
        if duration.is_match(&q) {
            out.push(QuestionType::Duration);
        }
        let money = re(
            &MONEY,
            r"\bhow much\b|\bcosts?\b|\bcosting\b|\bprices?\b|\bfees?\b|\bcharges?\b|\bexpensive\b|\bcheap(er|est)?\b|\bafford\b|£",
        );
        if money.is_match(&q) && !out.contains(&QuestionType::Duration) {
            out.push(QuestionType::Money);
        }
        let date = re(
            &DATE,
            r"\bwhen\b|\bwhat date\b|\bdeadlines?\b|\bwhich (year|month)\b|\bwhat (year|month)\b|\bclosing date\b|\bstart date\b",
        );
        if date.is_match(&q) {
            out.push(QuestionType::Date);
        }
        let count = re(
            &COUNT,
            r"\bhow many\b|\bnumber of\b|\bwhat (percentage|proportion|share)\b",
        );
        if count.is_match(&q) && !out.contains(&QuestionType::Duration) {
            out.push(QuestionType::Count);
        }
        out
    }

    /// True when `text` holds a fact of this kind.
    pub fn matches(self, text: &str) -> bool {
        static DURATION: OnceLock<Regex> = OnceLock::new();
        static MONEY: OnceLock<Regex> = OnceLock::new();
        static DATE: OnceLock<Regex> = OnceLock::new();
        let number = r"(\d+|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|eighteen|twenty|several|a few)";
        match self {
            QuestionType::Duration => re(&DURATION, &format!(r"(?i)\b{number}(\s*(-|–|to|and|or)\s*{number})?[\s-]+(academic\s+|calendar\s+|school\s+|working\s+)?(months?|years?|weeks?|terms?|days?|hours?|minutes?)\b")).is_match(text),
            QuestionType::Money => re(&MONEY, r"£\s?\d|\b\d[\d,.]*\s?(pounds|GBP)\b").is_match(text),
            QuestionType::Date => re(&DATE, r"(?i)\b(january|february|march|april|may|june|july|august|september|october|november|december|autumn|spring|summer|winter)\s+(19|20)\d\d\b|\b\d{1,2}\s+(jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\b|\b(19|20)\d\d\b").is_match(text),
            QuestionType::Count => states_a_count(text),
        }
    }
}

/// True when `text` states a quantity: a number with thousands separators, a percentage, a
/// number of two or more digits that is not a year, or a small number (in digits or words,
/// two to twelve or twenty) before the word it counts ("ten NPQs", "3 sessions").
fn states_a_count(text: &str) -> bool {
    static NUMBER: OnceLock<Regex> = OnceLock::new();
    let number = NUMBER.get_or_init(|| {
        Regex::new(concat!(
            r"\b\d{1,3}(,\d{3})+\b|\b\d+(\.\d+)?\s?(%|per cent|percent)|\b\d{2,}\b",
            r"|(?i)\b([2-9]|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty)\s+[a-z]{3,}"
        ))
            .expect("valid regex")
    });
    number.find_iter(text).any(|m| {
        let n = m.as_str();
        let is_year = n.len() == 4 && (n.starts_with("19") || n.starts_with("20"));
        !is_year
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_stemmed_lowercased_and_located() {
        let text = "Funding for Leaders";
        let toks = tokens(text);
        let stems: Vec<&str> = toks.iter().map(|t| t.stem.as_str()).collect();
        assert_eq!(stems, vec!["fund", "for", "leader"]);
        assert_eq!(&text[toks[2].span.clone()], "Leaders");
    }

    #[test]
    fn a_plus_after_a_word_is_read_as_plus() {
        let text = "What is NPQ+? 2 + 2, C++";
        let got: Vec<(String, &str)> = tokens(text)
            .into_iter()
            .map(|t| (t.stem.clone(), &text[t.span]))
            .collect();
        let stems: Vec<&str> = got.iter().map(|(s, _)| s.as_str()).collect();
        assert_eq!(
            stems,
            vec!["what", "is", "npq", "plus", "2", "2", "c", "plus"]
        );
        assert_eq!(got[3].1, "+");
    }

    #[test]
    fn acronym_plurals_are_singular() {
        let stems: Vec<String> = tokens("NPQs TLRs SENCOs bus")
            .into_iter()
            .map(|t| t.stem)
            .collect();
        assert_eq!(stems, vec!["npq", "tlr", "senco", "bus"]);
    }

    #[test]
    fn stop_words_are_dropped_from_content_stems() {
        assert_eq!(
            content_stems("How long does the NPQH take, please?"),
            vec!["long", "npqh", "take"]
        );
    }

    #[test]
    fn sentences_split_at_full_stops_but_not_abbreviations() {
        let text = "Costs vary, e.g. by provider. The NPQH costs £1,949. 2021 was different.\nNew paragraph";
        let got: Vec<&str> = sentences(text).into_iter().map(|r| &text[r]).collect();
        assert_eq!(
            got,
            vec![
                "Costs vary, e.g. by provider.",
                "The NPQH costs £1,949.",
                "2021 was different.",
                "New paragraph"
            ]
        );
    }

    #[test]
    fn question_types_are_detected_and_matched() {
        assert_eq!(
            QuestionType::detect("How long is the NPQH?"),
            vec![QuestionType::Duration]
        );
        assert_eq!(
            QuestionType::detect("npqsl length?"),
            vec![QuestionType::Duration]
        );
        assert_eq!(
            QuestionType::detect("how much does it cost"),
            vec![QuestionType::Money]
        );
        assert_eq!(
            QuestionType::detect("When does it start?"),
            vec![QuestionType::Date]
        );
        assert!(QuestionType::Duration.matches("between two academic terms and 27 months"));
        assert!(
            QuestionType::Duration.matches("18-month programme")
                || QuestionType::Duration.matches("18 months")
        );
        assert!(QuestionType::Money.matches("about £1,000"));
        assert!(QuestionType::Date.matches("from 1 September 2024"));
        assert!(QuestionType::Count.matches("1,056 executive leaders"));
        assert!(QuestionType::Count.matches("a rise of 32%"));
        assert!(!QuestionType::Count.matches("announced in March 2024"));
        // A small count in digits or words before what it counts.
        assert!(QuestionType::Count.matches("there are ten NPQs"));
        assert!(QuestionType::Count.matches("3 sessions"));
        assert!(!QuestionType::Count.matches("one of the NPQs"));
        assert!(!QuestionType::Money.matches("no amounts here"));
    }

    #[test]
    fn common_filler_words_are_stop_words() {
        let filler = "always already basically certainly however maybe perhaps pretty probably somebody anybody everybody anyone anything describe please only really very once this was any before whatever ago still today yes";
        for t in tokens(filler) {
            assert!(
                is_stop_stem(&t.stem),
                "{} -> {}",
                &filler[t.span.clone()],
                t.stem
            );
        }
    }
}
