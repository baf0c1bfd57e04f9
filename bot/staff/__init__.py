"""Everything staff do (ADMIN_IDS): the router with the staff filter set once, and its actions,
texts, buttons, typed forms and command menu."""
