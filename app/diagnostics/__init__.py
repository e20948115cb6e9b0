"""`doctor`: checks of the machine, each a one-line verdict (ok / warn / fail) with what to fix.

The checks live in small modules with no Qt and no printing, so the command line, the desktop
window and the tests all use the same logic:

- `system`: Python, library versions, PortAudio;
- `gpu`: the NVIDIA GPU and its driver: whether torch can use it, and if not why (the driver
  against what torch's CUDA build needs) and what to do; its memory against the setup's;
- `recognition`: where speech recognition will run, and whether CTranslate2's CUDA 12 libraries
  are there;
- `audio`: every sound device opened briefly;
- `models`: the setup's memory part by part (`app.assets.sizes`), which models are cached (and
  their size), whether the app can run offline, where the app keeps its files.

`doctor.run_checks` runs them in that order; `doctor.exit_code` gives 1 when any check failed,
else 0. `checks.py` holds the `Check` verdict and `DoctorOptions`.
"""
