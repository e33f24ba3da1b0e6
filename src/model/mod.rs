//! The velocity network v_theta(x, t): a small MLP with a sinusoidal time embedding.
