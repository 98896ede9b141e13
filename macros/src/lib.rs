//! Procedural macros for Spacetime modules: #[table], #[reducer] and #[derive(SpacetimeType)].
