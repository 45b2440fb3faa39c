"""One Dash page per module: its layout first, then the callbacks that serve it."""
