//! Client code generation from a module's schema.
