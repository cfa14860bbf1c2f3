"""testimony-bot: a safe chatbot that hears migrants in their own words."""

__version__ = "0.1.0"
