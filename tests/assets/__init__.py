"""Tests of model-asset resolution, download and the demo Mimi; hf_server.py is the local hub."""
