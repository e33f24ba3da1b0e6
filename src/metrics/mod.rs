//! Sample-quality metrics against an exact target or a reference sample.
