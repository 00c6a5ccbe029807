//! Writing Linky data into home-automation systems, Domoticz first.
//!
//! Not built yet: this crate will hold the sink trait, its Domoticz implementation (JSON
//! API) and the sync run that ties a linky-enedis source, linky-core and a sink together
//! (see ARCHITECTURE.md). It is a workspace member already so that the layering
//! (linky-core under linky-enedis and linky-domoticz, which never depend on each other)
//! is in place from the start.
#![deny(missing_docs)]
