//! The fake tenant fleet (see DESIGN.md "Tests and real components").
