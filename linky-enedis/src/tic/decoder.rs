//! From bytes to checked groups and frames: the byte-level state machine of the TIC.

use std::fmt;

/// The two téléinformation modes of a Linky meter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TicMode {
    /// The historic mode (1200 baud, space separators), as meters leave the factory.
    Historic,
    /// The standard mode (9600 baud, tab separators, timestamps, STGE).
    Standard,
}

impl TicMode {
    /// The line speed of the mode.
    pub const fn baud_rate(self) -> u32 {
        match self {
            TicMode::Historic => 1200,
            TicMode::Standard => 9600,
        }
    }

    /// The separator between a group's fields.
    pub const fn separator(self) -> u8 {
        match self {
            TicMode::Historic => b' ',
            TicMode::Standard => b'\t',
        }
    }
}

impl fmt::Display for TicMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TicMode::Historic => "historic",
            TicMode::Standard => "standard",
        })
    }
}

/// Which mode the decoder reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ModeSetting {
    /// Each group by its own separator; a frame keeps the mode of its first good group
    /// (the default).
    #[default]
    Auto,
    /// Only this mode's groups; the other mode's are counted as bad.
    Fixed(TicMode),
}

const STX: u8 = 0x02;
const ETX: u8 = 0x03;
const EOT: u8 = 0x04;
const LF: u8 = 0x0a;
const CR: u8 = 0x0d;

/// The longest group kept, from its LF to its CR excluded (LibTeleinfo's buffer; the
/// longest group of the specification, `PJOURF+1`, takes 109 bytes).
pub const MAX_GROUP_BYTES: usize = 128;

/// The checksum character of `zone`: `(sum & 0x3F) + 0x20`.
pub fn checksum(zone: &[u8]) -> u8 {
    let sum = zone.iter().fold(0u32, |sum, &byte| sum + u32::from(byte));
    (sum & 0x3f) as u8 + 0x20
}

/// One group of a frame, checked: its label, its timestamp (standard mode, when it has
/// one, as written) and its data (as written; standard data may hold spaces).
///
/// Plain data, kept open on purpose: its fields are what it is, and a program builds it
/// as a literal; a field added would be a new type (a breaking release).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// The label (`EAST`, `PAPP`...).
    pub label: String,
    /// The timestamp field as written (`H260115143005`), for the labels that carry one.
    pub timestamp: Option<String>,
    /// The data field as written.
    pub data: String,
}

/// Why a group was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GroupFault {
    /// Its checksum does not match its bytes.
    BadChecksum,
    /// It is not `label SEP [timestamp SEP] data SEP checksum`, or holds bytes that are not
    /// printable.
    Malformed,
    /// Longer than [`MAX_GROUP_BYTES`].
    TooLong,
    /// A group of the mode the decoder does not read (or of the other mode than its
    /// frame's).
    WrongMode,
    /// A new group (LF) or the frame's end came before its CR.
    Unterminated,
}

impl fmt::Display for GroupFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            GroupFault::BadChecksum => "bad checksum",
            GroupFault::Malformed => "malformed",
            GroupFault::TooLong => "too long",
            GroupFault::WrongMode => "wrong mode",
            GroupFault::Unterminated => "unterminated",
        })
    }
}

/// A group that was dropped: why, and its label when one could be read (never trusted:
/// the checksum did not vouch for it).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct BadGroup {
    /// Why it was dropped.
    pub fault: GroupFault,
    /// What looked like its label (printable ASCII, at most 8 characters).
    pub label: Option<String>,
}

/// A complete frame (STX to ETX): its mode, its good groups in order, and the groups it
/// dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Frame {
    /// The mode of its groups.
    pub mode: TicMode,
    /// The groups whose checksum passed, in the order sent.
    pub groups: Vec<Group>,
    /// The groups dropped.
    pub bad_groups: Vec<BadGroup>,
}

impl Frame {
    /// The first group with `label`.
    pub fn group(&self, label: &str) -> Option<&Group> {
        self.groups.iter().find(|group| group.label == label)
    }

    /// The data of the first group with `label`.
    pub fn data(&self, label: &str) -> Option<&str> {
        self.group(label).map(|group| group.data.as_str())
    }
}

/// What the decoder has seen since it started: frames and groups kept, and everything
/// dropped, by cause.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct TicCounters {
    /// Complete frames given out.
    pub frames: u64,
    /// Good groups given out.
    pub groups: u64,
    /// Groups dropped for a bad checksum.
    pub bad_checksums: u64,
    /// Groups dropped as malformed, unterminated or too long.
    pub malformed_groups: u64,
    /// Groups dropped for being of the other mode.
    pub wrong_mode_groups: u64,
    /// Frames interrupted by EOT (historic mode), discarded.
    pub interrupted_frames: u64,
    /// Frames cut by a new STX before their ETX, discarded.
    pub cut_frames: u64,
    /// Frames that ended with no good group, not given out.
    pub empty_frames: u64,
    /// Bytes outside any frame (the partial frame after opening a port, noise).
    pub stray_bytes: u64,
}

impl TicCounters {
    /// Groups dropped, whatever the cause.
    pub fn bad_groups(&self) -> u64 {
        self.bad_checksums + self.malformed_groups + self.wrong_mode_groups
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Waiting for STX.
    Outside,
    /// In a frame, between groups.
    BetweenGroups,
    /// In a group (after its LF).
    InGroup,
    /// In a group that grew too long: skipping to its CR.
    SkippingGroup,
}

/// The TIC byte-stream decoder: bytes in (any chunking), checked frames out. Sans I/O:
/// feed it what a serial port, a capture or a test gives.
///
/// It follows the specification's state machine: every byte masked with 0x7F (a port
/// opened 8N1 gives the parity bit), nothing kept until STX, a group from LF to CR
/// checked by its mode's checksum rule and kept or counted, ETX gives the frame, EOT
/// discards it, an STX before ETX discards the partial frame and starts a new one. A bad
/// group costs only itself.
///
/// ```
/// use linky_enedis::tic::{TicDecoder, TicMode};
/// let mut decoder = TicDecoder::new();
/// let frames = decoder.push(b"\x02\nADCO 041876543210 @\r\nPAPP 01610 )\r\nHCHC 012345678 X\r\x03");
/// assert_eq!(frames.len(), 1);
/// assert_eq!(frames[0].mode, TicMode::Historic);
/// assert_eq!(frames[0].data("PAPP"), Some("01610"));
/// // The HCHC group's checksum is wrong (it is `*`): dropped and counted.
/// assert_eq!(frames[0].groups.len(), 2);
/// assert_eq!(decoder.counters().bad_checksums, 1);
/// ```
#[derive(Debug, Clone)]
pub struct TicDecoder {
    setting: ModeSetting,
    state: State,
    group: Vec<u8>,
    groups: Vec<Group>,
    bad_groups: Vec<BadGroup>,
    frame_mode: Option<TicMode>,
    counters: TicCounters,
    /// The mode of the last good groups, and how many in a row.
    recent: Option<(TicMode, u32)>,
}

impl Default for TicDecoder {
    fn default() -> Self {
        TicDecoder::new()
    }
}

/// How many good groups of one mode in a row make it the detected mode.
pub const GROUPS_TO_DETECT: u32 = 3;

impl TicDecoder {
    /// A decoder that reads both modes ([`ModeSetting::Auto`]).
    pub fn new() -> TicDecoder {
        TicDecoder::with_mode(ModeSetting::Auto)
    }

    /// A decoder reading `setting`.
    pub fn with_mode(setting: ModeSetting) -> TicDecoder {
        TicDecoder {
            setting,
            state: State::Outside,
            group: Vec::with_capacity(MAX_GROUP_BYTES),
            groups: Vec::new(),
            bad_groups: Vec::new(),
            frame_mode: None,
            counters: TicCounters::default(),
            recent: None,
        }
    }

    /// What was seen so far.
    pub fn counters(&self) -> &TicCounters {
        &self.counters
    }

    /// The mode of the stream: the mode of the last [`GROUPS_TO_DETECT`] good groups in a
    /// row, once there were that many.
    pub fn detected_mode(&self) -> Option<TicMode> {
        self.recent
            .filter(|&(_, count)| count >= GROUPS_TO_DETECT)
            .map(|(mode, _)| mode)
    }

    /// Forgets the frame in progress (after the port was closed and reopened: what comes
    /// next is not its continuation). Counters and the detected mode stay.
    pub fn reset(&mut self) {
        self.state = State::Outside;
        self.clear_frame();
    }

    /// Reads `bytes`, giving out the frames they complete, in order.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<Frame> {
        let mut frames = Vec::new();
        for &raw in bytes {
            let byte = raw & 0x7f;
            match (self.state, byte) {
                (State::Outside, STX) => self.start_frame(),
                (State::Outside, _) => self.counters.stray_bytes += 1,
                (_, STX) => {
                    self.counters.cut_frames += 1;
                    self.start_frame();
                }
                (_, EOT) => {
                    self.counters.interrupted_frames += 1;
                    self.clear_frame();
                    self.state = State::Outside;
                }
                (_, ETX) => {
                    if self.state == State::InGroup {
                        self.drop_group(GroupFault::Unterminated);
                    }
                    if let Some(frame) = self.finish_frame() {
                        frames.push(frame);
                    }
                    self.state = State::Outside;
                }
                (State::InGroup, LF) | (State::SkippingGroup, LF) => {
                    if self.state == State::InGroup {
                        self.drop_group(GroupFault::Unterminated);
                    }
                    self.group.clear();
                    self.state = State::InGroup;
                }
                (State::BetweenGroups, LF) => {
                    self.group.clear();
                    self.state = State::InGroup;
                }
                (State::BetweenGroups, _) => {}
                (State::InGroup, CR) => {
                    self.end_group();
                    self.state = State::BetweenGroups;
                }
                (State::InGroup, _) => {
                    if self.group.len() >= MAX_GROUP_BYTES {
                        self.drop_group(GroupFault::TooLong);
                        self.state = State::SkippingGroup;
                    } else {
                        self.group.push(byte);
                    }
                }
                (State::SkippingGroup, CR) => self.state = State::BetweenGroups,
                (State::SkippingGroup, _) => {}
            }
        }
        frames
    }

    fn start_frame(&mut self) {
        self.clear_frame();
        self.state = State::BetweenGroups;
    }

    fn clear_frame(&mut self) {
        self.group.clear();
        self.groups.clear();
        self.bad_groups.clear();
        self.frame_mode = None;
    }

    fn finish_frame(&mut self) -> Option<Frame> {
        let mode = self.frame_mode;
        let groups = std::mem::take(&mut self.groups);
        let bad_groups = std::mem::take(&mut self.bad_groups);
        self.clear_frame();
        match mode {
            Some(mode) if !groups.is_empty() => {
                self.counters.frames += 1;
                Some(Frame {
                    mode,
                    groups,
                    bad_groups,
                })
            }
            _ => {
                self.counters.empty_frames += 1;
                None
            }
        }
    }

    fn drop_group(&mut self, fault: GroupFault) {
        match fault {
            GroupFault::BadChecksum => self.counters.bad_checksums += 1,
            GroupFault::WrongMode => self.counters.wrong_mode_groups += 1,
            GroupFault::Malformed | GroupFault::TooLong | GroupFault::Unterminated => {
                self.counters.malformed_groups += 1
            }
        }
        let label: Vec<u8> = self
            .group
            .iter()
            .copied()
            .take_while(|byte| byte.is_ascii_graphic())
            .take(8)
            .collect();
        self.bad_groups.push(BadGroup {
            fault,
            label: (!label.is_empty()).then(|| String::from_utf8_lossy(&label).into_owned()),
        });
        if let Some((_, count)) = &mut self.recent
            && matches!(fault, GroupFault::BadChecksum | GroupFault::WrongMode)
        {
            *count = 0;
        }
    }

    fn end_group(&mut self) {
        match check_group(&self.group) {
            Err(fault) => self.drop_group(fault),
            Ok((mode, group)) => {
                let expected = match self.setting {
                    ModeSetting::Fixed(fixed) => Some(fixed),
                    ModeSetting::Auto => self.frame_mode,
                };
                if expected.is_some_and(|expected| expected != mode) {
                    self.drop_group(GroupFault::WrongMode);
                    return;
                }
                self.frame_mode = Some(mode);
                self.recent = match self.recent {
                    Some((recent, count)) if recent == mode => {
                        Some((mode, count.saturating_add(1)))
                    }
                    _ => Some((mode, 1)),
                };
                self.counters.groups += 1;
                self.groups.push(group);
            }
        }
    }
}

/// Checks one group's bytes (between LF and CR): its mode (from the separator before its
/// checksum), its checksum by that mode's rule, its fields.
fn check_group(bytes: &[u8]) -> Result<(TicMode, Group), GroupFault> {
    let [zone @ .., separator, sum] = bytes else {
        return Err(GroupFault::Malformed);
    };
    if !bytes
        .iter()
        .all(|&byte| byte == b'\t' || (0x20..=0x7e).contains(&byte))
    {
        return Err(GroupFault::Malformed);
    }
    let mode = match *separator {
        b'\t' => TicMode::Standard,
        b' ' => TicMode::Historic,
        _ => return Err(GroupFault::Malformed),
    };
    let expected = match mode {
        // The standard rule includes the tab before the checksum; the historic one does
        // not include the space.
        TicMode::Standard => checksum(&bytes[..bytes.len() - 1]),
        TicMode::Historic => checksum(zone),
    };
    if expected != *sum {
        return Err(GroupFault::BadChecksum);
    }
    // Checked bytes are printable ASCII (and tabs): they are UTF-8.
    let text = std::str::from_utf8(zone).map_err(|_| GroupFault::Malformed)?;
    let (label, timestamp, data) = match mode {
        TicMode::Standard => {
            let mut fields = text.split('\t');
            match (fields.next(), fields.next(), fields.next(), fields.next()) {
                (Some(label), Some(data), None, None) => (label, None, data),
                (Some(label), Some(stamp), Some(data), None) => (label, Some(stamp), data),
                _ => return Err(GroupFault::Malformed),
            }
        }
        TicMode::Historic => text
            .split_once(' ')
            .map(|(l, d)| (l, None, d))
            .ok_or(GroupFault::Malformed)?,
    };
    let label_ok =
        !label.is_empty() && label.len() <= 8 && label.bytes().all(|byte| byte.is_ascii_graphic());
    if !label_ok || (mode == TicMode::Historic && data.contains('\t')) {
        return Err(GroupFault::Malformed);
    }
    Ok((
        mode,
        Group {
            label: label.to_owned(),
            timestamp: timestamp.map(str::to_owned),
            data: data.to_owned(),
        },
    ))
}

/// Writes one group as a meter does, its checksum computed: for tests, captures and
/// simulators.
///
/// ```
/// use linky_enedis::tic::{encode_group, TicMode};
/// assert_eq!(encode_group(TicMode::Historic, "HCHC", None, "012345678"), b"\nHCHC 012345678 *\r");
/// assert_eq!(encode_group(TicMode::Standard, "EAST", None, "011890456"), b"\nEAST\t011890456\t1\r");
/// ```
pub fn encode_group(mode: TicMode, label: &str, timestamp: Option<&str>, data: &str) -> Vec<u8> {
    let separator = mode.separator();
    let mut zone = Vec::with_capacity(label.len() + data.len() + 20);
    zone.extend_from_slice(label.as_bytes());
    zone.push(separator);
    if let Some(stamp) = timestamp {
        zone.extend_from_slice(stamp.as_bytes());
        zone.push(separator);
    }
    zone.extend_from_slice(data.as_bytes());
    let sum = match mode {
        TicMode::Historic => checksum(&zone),
        TicMode::Standard => {
            zone.push(separator);
            checksum(&zone)
        }
    };
    if mode == TicMode::Historic {
        zone.push(separator);
    }
    let mut group = Vec::with_capacity(zone.len() + 3);
    group.push(LF);
    group.extend_from_slice(&zone);
    group.push(sum);
    group.push(CR);
    group
}

/// Writes a whole frame (STX, the groups, ETX).
pub fn encode_frame<'a>(
    mode: TicMode,
    groups: impl IntoIterator<Item = (&'a str, Option<&'a str>, &'a str)>,
) -> Vec<u8> {
    let mut frame = vec![STX];
    for (label, timestamp, data) in groups {
        frame.extend(encode_group(mode, label, timestamp, data));
    }
    frame.push(ETX);
    frame
}
