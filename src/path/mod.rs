//! Probability paths between noise (t = 0) and data (t = 1), and couplings of x_0 with x_1.
