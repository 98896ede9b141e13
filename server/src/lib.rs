//! The Spacetime server: databases, HTTP API and WebSocket protocol.
