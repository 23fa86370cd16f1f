//! This node's part of a cluster, over Redis: the bridge that carries room traffic between
//! nodes (`bridge`), and presence across nodes (`presence`).

pub mod bridge;
pub mod presence;
