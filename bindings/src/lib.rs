//! The library Spacetime modules depend on: tables, reducers and the spacetime_10.x ABI.
