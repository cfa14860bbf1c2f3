"""Everything that touches SQL or cryptography lives in this package.

The bot process only ever holds the researchers' *public* keys: answers are sealed here the
moment they arrive, and only `storage.reader` (run on a researcher's machine, with the private
key) can open them again.
"""
