"""Tests of app.brains: where the character's replies come from."""
