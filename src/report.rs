//! Metrics tables and JSON reports.
