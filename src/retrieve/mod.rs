//! Finding the passages that answer a question: a lexical stage (tantivy BM25 over stems,
//! widened with the glossary), a semantic stage (sentence embeddings), and their fusion.

pub mod fuse;
pub mod lexical;
pub mod semantic;
