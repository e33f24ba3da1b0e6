//! Target distributions p_1 (data at t = 1) and data loading.
