"""cardline: telephone card payments through PayPal, with the card-data path kept small."""

__version__ = "0.1.0"
