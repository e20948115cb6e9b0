"""Tests of the Mimi codec wrapper and voice-sample preparation."""
