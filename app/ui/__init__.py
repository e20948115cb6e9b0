"""The desktop window (PySide6): widgets and dialogs only. Work that blocks (models, devices,
downloads) runs in `app.workers`; nothing here imports torch.

    app.py                the Qt application, the theme, the main window (`run_window`)
    main_window.py        the main window: conversation, waveform, state, controls
    conversation_view.py  the turns, the character's words lit as heard
    waveform.py, status.py, banner.py, theme.py, loop_monitor.py   parts of the window
    settings_dialog.py, device_dialog.py, voice_dialog.py, download_dialog.py,
    dialogue_panel.py, about.py   the dialogs and the dialogue panel
"""
