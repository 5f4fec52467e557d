//! Follow-up rules, with no I/O and no clock of their own: every function takes the time it
//! reasons about. The daemon's follow-up loop (`bridge/daemon/src/followup/`) and the committer
//! use them; their tests drive them on times they choose.
//!
//! - [`hours`]: the first instant inside a city's working hours at or after a time.
//! - [`command`]: whether a post is a command (`/close`, `/snooze 3d`, ...).
//! - [`windows`]: who owes a reply after a post, and the windows of `reply_within`.
//! - [`deliverables`]: the reminder points of deliverables and meetings, and which is next.
//! - [`digest`]: when a partnership's digest goes out to a member, period by period.
//! - [`texts`]: what reminders and command answers say, in the partnership's language.

pub mod command;
pub mod deliverables;
pub mod digest;
pub mod hours;
pub mod texts;
pub mod windows;
