//! The local MQTT interface as data: topic names, command and request parsing with stable
//! error codes, replies, signed unlock verification and Home Assistant discovery payloads.
//!
//! Pure: no broker connection, no clock reads (time is passed in), no hardware.
