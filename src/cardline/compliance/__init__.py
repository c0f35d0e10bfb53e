"""PCI DSS evidence generated from the infrastructure templates: an architecture model
(template resources, references, network placement, declared data flows), the derived
scope, the responsibility matrix, connection and data-flow diagrams, and the report.

Both diagrams are DOT of our own, drawn by Graphviz's ``dot`` (a program, not a Python
dependency) only where a diagram is drawn.
"""
