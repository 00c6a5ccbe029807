//! The meter's own output: téléinformation client (TIC), both modes.
//!
//! A Linky meter streams its registers every second or two on its customer terminals;
//! a TIC module turns them into a serial stream (7E1, 1200 baud in historic mode, 9600 in
//! standard mode). This module reads that stream, sans I/O:
//!
//! - [`TicDecoder`]: bytes (any chunking, any garbage) to checked [`Frame`]s, each group
//!   kept only when its checksum passes by its mode's rule, everything dropped counted in
//!   [`TicCounters`];
//! - [`MeterFrame`]: a frame read into typed values (indexes per class, powers, currents,
//!   voltages, timestamps with their season letter, [`StatusRegister`] decoded);
//! - [`TicCapture`]: raw captures with their timing, recorded and replayed;
//! - [`encode_group`], [`encode_frame`] and [`simulated`]: frames as meters write them,
//!   for tests and simulators.
//!
//! It is Enedis' format (Enedis-NOI-CPT_54E), so it lives beside Enedis' other wire
//! formats; the serial port itself is the `serial` feature's `TicReader` (serialport).
//!
//! ```
//! use linky_enedis::tic::{MeterFrame, TicDecoder, simulated};
//! let mut decoder = TicDecoder::new();
//! let frames = decoder.push(&simulated::standard_tempo_example());
//! let meter = MeterFrame::from_frame(&frames[0]);
//! assert_eq!(meter.indexes.total, Some(11_890_456));
//! assert_eq!(meter.apparent_power, Some(2_750));
//! ```

mod capture;
mod decoder;
mod frame;
#[cfg(feature = "serial")]
mod port;
pub mod simulated;
mod stge;

pub use capture::{CaptureChunk, CaptureError, TicCapture};
pub use decoder::{
    BadGroup, Frame, GROUPS_TO_DETECT, Group, GroupFault, MAX_GROUP_BYTES, ModeSetting,
    TicCounters, TicDecoder, TicMode, checksum, encode_frame, encode_group,
};
pub use frame::{
    CurvePoint, FieldError, Indexes, MeterFrame, Stamped, TariffOption, TicPeriod, TicSeason,
    TicTimestamp,
};
pub use linky_core::ClassIndexes;
#[cfg(feature = "serial")]
pub use port::{PortEvent, PortSettings, TicReader};
pub use stge::{CplStatus, CutOff, Euridis, StatusRegister};
