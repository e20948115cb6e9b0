"""Tests of app.conversation: characters, prefix budget, recording, the turn pipeline."""
