//! Exact log-likelihoods of a flow model by the instantaneous change of variables.
