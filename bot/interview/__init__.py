"""The /check dialogue: its router, states, texts, buttons and the words typed instead of buttons."""
