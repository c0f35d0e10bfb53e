"""The HTTP core every host shares (internal Request/Response, routing, the Lambda event
adapter), and the charge route: all of it reads request bodies that hold card numbers."""
