"""PCI DSS evidence generated from the infrastructure templates: an architecture model
(template resources, references, network placement, declared data flows), the derived
scope, the responsibility matrix, connection and data-flow diagrams, and the report.

The diagram library (``pytm``, for the data-flow diagrams) is imported only where a
diagram is drawn.
"""
