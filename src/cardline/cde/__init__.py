"""The card-data environment: every module that can see a card number.

The charge function's zip is this folder and nothing else (``deploy/package.py``), and a
test fails if a module outside it imports the card's types. Its modules use the standard
library only: each third-party package here would be PCI scope and cold-start time.
"""
