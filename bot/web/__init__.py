"""The web chat door (`policybot web`): an aiohttp app serving a chat page and a JSON API that talk
to the same dispatcher, handlers, texts and buttons as Telegram and the terminal chat."""
