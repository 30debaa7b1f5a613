"""Versioned prompt templates (package data). A prompt's id is ``<name>.v<N>``."""
