"""Deployment tooling: the SAM template's API definition and the Lambda zips."""
