//! Sample-quality metrics against an exact target or a reference sample.

pub mod nd;
pub mod one_d;
