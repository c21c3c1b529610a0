"""cogapi: put an API behind Cognito sign-in from one YAML file."""

__version__ = "0.1.0"
