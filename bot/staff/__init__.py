"""Everything staff do (ADMIN_IDS): the router with the staff filter set once (router.py), one
module per job (inbox, edit, history, transfer, stats; confirm saves what they preview), the
dialogue's states (states.py, kept by flow.py), and its texts, buttons, typed forms and menu."""
