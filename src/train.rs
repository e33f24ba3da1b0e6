//! Conditional flow matching training.
