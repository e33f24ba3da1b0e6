//! PNG plots of data, samples, losses and velocity fields.
