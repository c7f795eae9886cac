//! Cross-module tests: export → import round trips and attachment sniffing.

mod roundtrip;
mod sniffing;
