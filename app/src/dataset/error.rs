//! The error type of the CSV reader.

use serde::{Deserialize, Serialize};

/// What is wrong with an uploaded file (serde names are the snake_case variant names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// A required column is absent from the header (or the header is not recognised).
    MissingColumn,
    /// A field is not a number / date, a row has the wrong number of fields, or the bytes are not UTF-8.
    ParseError,
    /// A value parses but is not allowed (price not finite or <= 0, negative volume, empty symbol).
    InvalidValue,
    /// A symbol's timestamp is earlier than its previous row's.
    UnsortedTimestamps,
    /// A symbol's timestamp repeats its previous row's.
    DuplicateTimestamp,
    /// The file has no content (0 bytes, or only a byte-order mark / whitespace).
    EmptyFile,
    /// The file has a header but no data rows.
    NoDataRows,
    /// The fields are separated by something other than a comma (';', tab, '|').
    UnsupportedDelimiter,
}

impl ErrorKind {
    /// The serde name, e.g. `parse_error`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::MissingColumn => "missing_column",
            ErrorKind::ParseError => "parse_error",
            ErrorKind::InvalidValue => "invalid_value",
            ErrorKind::UnsortedTimestamps => "unsorted_timestamps",
            ErrorKind::DuplicateTimestamp => "duplicate_timestamp",
            ErrorKind::EmptyFile => "empty_file",
            ErrorKind::NoDataRows => "no_data_rows",
            ErrorKind::UnsupportedDelimiter => "unsupported_delimiter",
        }
    }
}

impl std::fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A rejected file. `line` is the 1-based file line (the header is line 1), `column` the column's
/// name as written in the header (canonical lower-case name for header-less Binance files).
///
/// Displays as one line, e.g. `line 5, column close: parse_error: 'abc' is not a number`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CsvError {
    pub kind: ErrorKind,
    pub line: Option<u64>,
    pub column: Option<String>,
    pub message: String,
}

impl CsvError {
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        CsvError { kind, line: None, column: None, message: message.into() }
    }

    pub(crate) fn at_line(mut self, line: u64) -> Self {
        self.line = Some(line);
        self
    }

    pub(crate) fn in_column(mut self, column: impl Into<String>) -> Self {
        self.column = Some(column.into());
        self
    }
}

impl std::fmt::Display for CsvError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.line, &self.column) {
            (Some(line), Some(col)) => write!(f, "line {line}, column {col}: ")?,
            (Some(line), None) => write!(f, "line {line}: ")?,
            (None, Some(col)) => write!(f, "column {col}: ")?,
            (None, None) => {}
        }
        write!(f, "{}: {}", self.kind, self.message)
    }
}

impl std::error::Error for CsvError {}
