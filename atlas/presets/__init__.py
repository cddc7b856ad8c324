"""Presets: each system's connector, mappings and import formats as versioned data files (docs/presets.md)."""
